// The LM loss registry: every name, the shared signature, [B,T,V] inputs, errors.
#include "nn/loss/cross_entropy.h"
#include "nn/loss/emo.h"
#include "nn/loss/focal.h"
#include "nn/loss/registry.h"
#include "nn/loss/tailr.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

TEST(LossRegistry, EveryNameMatchesItsFunction) {
  // The built-ins come first, in this order (a loss added to the list comes after them).
  const std::vector<std::string> builtin = {"ce", "label_smoothing", "focal", "tailr", "emo"};
  const std::vector<std::string> names = lm_loss_names();
  ASSERT_GE(names.size(), builtin.size());
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 5), builtin);
  Tensor z = randn64({6, 5}, 1, 2.0);
  Tensor t = random_targets(6, 5, 2, {3});
  LossOptions o;
  o.keys.set("label_smoothing", 0.2).set("focal_gamma", 1.5).set("focal_alpha", 0.5);
  o.keys.set("tailr_gamma", 0.3);
  o.emo_embedding = randn64({5, 4}, 3);
  EXPECT_EQ(lm_loss("ce", z, t, o).item(), cross_entropy(z, t).item());
  EXPECT_EQ(lm_loss("label_smoothing", z, t, o).item(), cross_entropy(z, t, 0.2).item());
  EXPECT_EQ(lm_loss("focal", z, t, o).item(), focal_loss(z, t, 1.5, 0.5).item());
  EXPECT_EQ(lm_loss("tailr", z, t, o).item(), tailr_loss(z, t, 0.3).item());
  EXPECT_EQ(lm_loss("emo", z, t, o).item(), emo_loss(z, t, o.emo_embedding).item());
  for (const std::string& name : lm_loss_names()) EXPECT_TRUE(has_lm_loss(name));
  EXPECT_FALSE(has_lm_loss("mse"));
}

TEST(LossRegistry, BatchTimeVocabInputsAndGradients) {
  Tensor z = randn64({2, 3, 5}, 4);
  Tensor t = ids({1, 4, -100, 0, 2, 2}, {2, 3});
  LossOptions o;
  o.emo_embedding = randn64({5, 3}, 5);
  for (const std::string& name : lm_loss_names()) {
    Tensor a = z.detach().clone().set_requires_grad(true);
    Tensor l3 = lm_loss(name, a, t, o);
    Tensor l2 = lm_loss(name, reshape(z, {6, 5}), reshape(t, {6}), o);
    EXPECT_NEAR(l3.item(), l2.item(), 1e-14) << name;
    l3.backward();
    EXPECT_EQ(a.grad().shape(), z.shape()) << name;
    EXPECT_TRUE(all_finite(a.grad())) << name;
    if (name != "emo")  // emo's stop-gradient weight is checked in test_lm_losses.cpp
      EXPECT_GRADCHECK([&](In v) { return lm_loss(name, v[0], t, o); }, {z});
  }
}

// Unset keys take the defaults the entries declare (the config's defaults), and each entry's keys
// are exactly the hyperparameters its function reads.
TEST(LossRegistry, KeysAndTheirDefaults) {
  Tensor z = randn64({6, 5}, 7, 2.0);
  Tensor t = random_targets(6, 5, 8, {2});
  LossOptions o;
  o.emo_embedding = randn64({5, 4}, 9);
  EXPECT_EQ(lm_loss("label_smoothing", z, t, o).item(), cross_entropy(z, t, 0.1).item());
  EXPECT_EQ(lm_loss("focal", z, t, o).item(), focal_loss(z, t, 2.0, 1.0).item());
  EXPECT_EQ(lm_loss("tailr", z, t, o).item(), tailr_loss(z, t, 1e-7).item());
  // emo_max_weight = 0 (the default) is no cap; a positive value caps sg(ce/emo).
  EXPECT_EQ(lm_loss("emo", z, t, o).item(), emo_loss(z, t, o.emo_embedding).item());
  o.keys.set("emo_max_weight", 0.5);
  EmoOptions capped;
  capped.max_weight = 0.5;
  EXPECT_EQ(lm_loss("emo", z, t, o).item(), emo_loss(z, t, o.emo_embedding, capped).item());
  EXPECT_NE(lm_loss("emo", z, t, o).item(), emo_loss(z, t, o.emo_embedding).item());
  auto key_names = [](const std::string& loss) {
    std::vector<std::string> out;
    for (const EntryKey& k : loss_registry().get(loss).keys) out.push_back(k.name);
    return out;
  };
  EXPECT_EQ(key_names("ce"), std::vector<std::string>{});
  EXPECT_EQ(key_names("label_smoothing"), std::vector<std::string>{"label_smoothing"});
  EXPECT_EQ(key_names("focal"), (std::vector<std::string>{"focal_gamma", "focal_alpha"}));
  EXPECT_EQ(key_names("tailr"), std::vector<std::string>{"tailr_gamma"});
  EXPECT_EQ(key_names("emo"), std::vector<std::string>{"emo_max_weight"});
}

TEST(LossRegistry, Errors) {
  Tensor z = randn64({2, 3}, 6);
  EXPECT_TLM_ERROR(lm_loss("hinge", z, ids({0, 1})), "unknown loss 'hinge'",
                   "ce, label_smoothing, focal, tailr, emo");
  EXPECT_TLM_ERROR(lm_loss("emo", z, ids({0, 1})), "emo", "emo_embedding");
  EXPECT_TLM_ERROR(lm_loss("ce", z, ids({0, 1, 2})), "lm_loss 'ce'", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(lm_loss("focal", z, ids({0, 7})), "focal_loss", "target 7");
  LossOptions bad;
  bad.keys.set("label_smoothing", 1.5);
  EXPECT_TLM_ERROR(lm_loss("label_smoothing", z, ids({0, 1}), bad), "label_smoothing = 1.5",
                   "is out of range", "[0, 1)");
  bad.keys.set("focal_gamma", std::string("two"));
  EXPECT_TLM_ERROR(lm_loss("focal", z, ids({0, 1}), bad), "focal_gamma = two", "is not a number");
}

}  // namespace
}  // namespace tlm::nn
