// Hard truncation, softened loss and focal loss (binary and multi-class).
#include "nn/loss/cross_entropy.h"
#include "nn/loss/focal.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

Tensor binary_labels(const std::vector<int32_t>& v, const Shape& s) { return ids(v, s); }

TEST(Focal, GradcheckBinary) {
  Tensor x = randn64({3, 4}, 1, 2.0);
  Tensor y = binary_labels({1, 0, 0, 1, -100, 1, 0, 0, 1, 1, -100, 0}, {3, 4});
  EXPECT_GRADCHECK([&](In v) { return softened_truncation_loss(v[0], y, 2.0); }, {x});
  EXPECT_GRADCHECK([&](In v) { return softened_truncation_loss(v[0], y, 0.0); }, {x});
  EXPECT_GRADCHECK([&](In v) { return binary_focal_loss(v[0], y, 0.25, 2.0); }, {x});
  EXPECT_GRADCHECK([&](In v) { return binary_focal_loss(v[0], y, 0.5, 0.5); }, {x});
  EXPECT_GRADCHECK([&](In v) { return binary_focal_loss(v[0], y, 0.25, 0.0); }, {x});
  EXPECT_GRADCHECK([&](In v) { return hard_truncation_loss(v[0], y, 0.6); }, {x});
  // size-1 dims
  Tensor y1 = binary_labels({1}, {1, 1});
  EXPECT_GRADCHECK([&](In v) { return binary_focal_loss(v[0], y1); }, {randn64({1, 1}, 2)});
}

TEST(Focal, GradcheckMulticlass) {
  Tensor t = random_targets(5, 4, 3, {2});
  for (double gamma : {0.0, 0.5, 2.0})
    EXPECT_GRADCHECK([&](In v) { return focal_loss(v[0], t, gamma, 0.75); },
                     {randn64({5, 4}, 4, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return softened_truncation_loss_multiclass(v[0], t, 1.5); },
                   {randn64({5, 4}, 5, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return hard_truncation_loss_multiclass(v[0], t, 0.4); },
                   {randn64({5, 4}, 6, 2.0)});
  // one row; one class (loss identically 0)
  EXPECT_GRADCHECK([&](In v) { return focal_loss(v[0], random_targets(1, 3, 7), 2.0); },
                   {randn64({1, 3}, 8)});
  EXPECT_GRADCHECK([&](In v) { return focal_loss(v[0], random_targets(3, 1, 9), 2.0); },
                   {randn64({3, 1}, 10)});
}

TEST(Focal, MatchesTorchGolden) {
  auto golden = load_golden("focal");
  for (auto& [name, c] : golden) {
    Shape s = golden_shape(c["shape"]);
    Tensor x = f64(c["logits"], s).set_requires_grad(true);
    Tensor loss;
    if (name.rfind("binary", 0) == 0) {
      loss = binary_focal_loss(x, golden_ids(c["labels"], s), c["alpha"][0], c["gamma"][0]);
    } else if (name.rfind("multi", 0) == 0) {
      loss = focal_loss(x, golden_ids(c["targets"], {s[0]}), c["gamma"][0]);
    } else if (name == "bce") {
      // K = 0: sigma(0) = 1/2, so the softened loss is half the BCE.
      loss = mul(softened_truncation_loss(x, golden_ids(c["labels"], s), 0.0), 2.0);
    } else {
      continue;
    }
    loss.backward();
    expect_close({loss.item()}, c["loss"], 1e-12, name + " loss");
    expect_close(x.grad().to_vector<double>(), c["grad"], 1e-12, name + " grad");
  }
}

TEST(Focal, ClosedFormRelations) {
  Tensor x = randn64({10}, 11, 2.0);
  Tensor y = random_targets(10, 2, 12);
  // K = 1 softened loss == focal with gamma = 1 and alpha = 1/2 (times 2).
  EXPECT_NEAR(softened_truncation_loss(x, y, 1.0).item(),
              2 * binary_focal_loss(x, y, 0.5, 1.0).item(), 1e-12);
  // Multi-class softened with logits (x, 0) reduces to the binary form (y=1 <=> class 0).
  std::vector<double> xv = x.to_vector<double>(), z2;
  std::vector<int32_t> yv = y.to_vector<int32_t>(), t2;
  for (size_t i = 0; i < xv.size(); ++i) {
    z2.push_back(xv[i]);
    z2.push_back(0);
    t2.push_back(yv[i] == 1 ? 0 : 1);
  }
  Tensor z = f64(z2, {10, 2});
  EXPECT_NEAR(softened_truncation_loss_multiclass(z, ids(t2), 3.0).item(),
              softened_truncation_loss(x, y, 3.0).item(), 1e-12);
  // Multi-class focal with gamma = 0 is CE; on (x, 0) it is the binary focal with gamma, alpha=1/2.
  Tensor zc = randn64({6, 5}, 13);
  Tensor tc = random_targets(6, 5, 14, {1});
  EXPECT_NEAR(focal_loss(zc, tc, 0.0).item(), cross_entropy(zc, tc).item(), 1e-12);
  EXPECT_NEAR(focal_loss(z, ids(t2), 2.0).item(), 2 * binary_focal_loss(x, y, 0.5, 2.0).item(),
              1e-12);
  // Hard truncation by a direct loop: lambda = 0 past m, CE otherwise.
  const double m = 0.6;
  double want = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    double p = 1 / (1 + std::exp(-xv[i]));
    bool done = (yv[i] == 1 && p > m) || (yv[i] == 0 && p < m);
    double ce = yv[i] == 1 ? -std::log(p) : -std::log(1 - p);
    want += done ? 0 : ce;
  }
  EXPECT_NEAR(hard_truncation_loss(x, y, m).item(), want / xv.size(), 1e-12);
  // Multi-class hard truncation: lambda = 0 where p_t > m.
  Tensor lp = log_softmax(zc, -1);
  auto lpv = lp.to_vector<double>();
  auto tv = tc.to_vector<int32_t>();
  double want_mc = 0;
  for (int i = 0; i < 6; ++i) {
    if (tv[i] < 0) continue;
    double l = lpv[i * 5 + tv[i]];
    want_mc += std::exp(l) > 0.3 ? 0 : -l;
  }
  EXPECT_NEAR(hard_truncation_loss_multiclass(zc, tc, 0.3).item(), want_mc / 5, 1e-12);
}

TEST(Focal, StableAtHugeLogitsAndFullyMasked) {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = f64({1e4, -1e4, 1e4, -1e4}, {4}).to(dt).set_requires_grad(true);
    Tensor y = ids({1, 1, 0, 0});
    for (auto f :
         {+[](const Tensor&a, const Tensor&b) { return binary_focal_loss(a, b); },
          +[](const Tensor&a, const Tensor&b) { return softened_truncation_loss(a, b, 2); },
          +[](const Tensor&a, const Tensor&b) { return hard_truncation_loss(a, b); }}) {
      x.zero_grad();
      Tensor l = f(x, y);
      l.backward();
      EXPECT_TRUE(std::isfinite(l.item()));
      EXPECT_TRUE(all_finite(x.grad()));
    }
    Tensor z = f64({1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt).set_requires_grad(true);
    Tensor t = ids({0, 0});
    for (auto f : {+[](const Tensor&a, const Tensor&b) { return focal_loss(a, b, 2.0); },
                   +[](const Tensor&a, const Tensor&b) {
                     return softened_truncation_loss_multiclass(a, b, 2.0);
                   }}) {
      z.zero_grad();
      Tensor l = f(z, t);
      l.backward();
      EXPECT_TRUE(std::isfinite(l.item()));
      EXPECT_TRUE(all_finite(z.grad()));
    }
    // focal on the wrong class at 1e4: loss ~ 2e4, gradient finite
    EXPECT_NEAR(focal_loss(z, t, 2.0).item(), 0.5 * (0 + 2e4 + std::log(2.0)), 1e-2);
  }
  Tensor x = randn64({3}, 15).set_requires_grad(true);
  Tensor l = binary_focal_loss(x, ids({-100, -100, -100}));
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  EXPECT_TRUE(all_finite(x.grad()));
  Tensor z = randn64({2, 3}, 16).set_requires_grad(true);
  Tensor lz = focal_loss(z, ids({-100, -100}));
  lz.backward();
  EXPECT_EQ(lz.item(), 0.0);
  EXPECT_TRUE(all_finite(z.grad()));
}

TEST(Focal, BadInput) {
  Tensor x = randn64({2, 3}, 17);
  EXPECT_TLM_ERROR(binary_focal_loss(x, ids({0, 1, 2, 0, 1, 0}, {2, 3})), "binary_focal_loss",
                   "[2,3]", "label 2");
  EXPECT_TLM_ERROR(binary_focal_loss(x, ids({0, 1, 1}, {3})), "binary_focal_loss", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(softened_truncation_loss(x, ids({0, 1}, {2, 1}), 1), "softened_truncation_loss",
                   "[2,3]", "[2,1]");
  EXPECT_TLM_ERROR(hard_truncation_loss(x, ids({0, 1, 1, 0, 1, 5}, {2, 3})), "hard_truncation_loss",
                   "label 5");
  EXPECT_TLM_ERROR(focal_loss(x, ids({0, 3})), "focal_loss", "[2,3]", "[2]", "target 3");
  EXPECT_TLM_ERROR(focal_loss(x, ids({0, 1, 2})), "focal_loss", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(focal_loss(x, ids({0, 1}), -1.0), "focal_loss", "gamma");
}

}  // namespace
}  // namespace tlm::nn
