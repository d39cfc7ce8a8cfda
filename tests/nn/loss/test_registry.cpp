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
  EXPECT_EQ(lm_loss_names(),
            (std::vector<std::string>{"ce", "label_smoothing", "focal", "tailr", "emo"}));
  Tensor z = randn64({6, 5}, 1, 2.0);
  Tensor t = random_targets(6, 5, 2, {3});
  LossOptions o;
  o.label_smoothing = 0.2;
  o.focal_gamma = 1.5;
  o.focal_alpha = 0.5;
  o.tailr_gamma = 0.3;
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

TEST(LossRegistry, Errors) {
  Tensor z = randn64({2, 3}, 6);
  EXPECT_TLM_ERROR(lm_loss("hinge", z, ids({0, 1})), "unknown loss 'hinge'",
                   "ce, label_smoothing, focal, tailr, emo");
  EXPECT_TLM_ERROR(lm_loss("emo", z, ids({0, 1})), "emo", "emo_embedding");
  EXPECT_TLM_ERROR(lm_loss("ce", z, ids({0, 1, 2})), "lm_loss 'ce'", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(lm_loss("focal", z, ids({0, 7})), "focal_loss", "target 7");
}

}  // namespace
}  // namespace tlm::nn
