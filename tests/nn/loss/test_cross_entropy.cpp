// Fused cross-entropy: gradcheck, against the composed ops, against torch golden values
// (label smoothing + ignore_index), stability at +-1e4, fully ignored batches, bad input.
#include "nn/loss/cross_entropy.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

TEST(CrossEntropy, GradcheckFusedWithSmoothingAndIgnore) {
  for (double eps : {0.0, 0.1, 0.3}) {
    EXPECT_GRADCHECK([=](In v) { return cross_entropy(v[0], v[1], eps); },
                     {randn64({5, 7}, 1, 2.0), random_targets(5, 7, 2, {1, 3})});
    EXPECT_GRADCHECK([=](In v) { return cross_entropy_per_item(v[0], v[1], eps); },
                     {randn64({4, 3}, 3, 2.0), random_targets(4, 3, 4, {0})});
    EXPECT_GRADCHECK([=](In v) { return cross_entropy_composed(v[0], v[1], eps); },
                     {randn64({4, 3}, 3, 2.0), random_targets(4, 3, 4, {0})});
  }
  // size-1 dims: one row, one class, and a non-contiguous (transposed) logits view
  EXPECT_GRADCHECK([](In v) { return cross_entropy(v[0], v[1], 0.1); },
                   {randn64({1, 6}, 5), random_targets(1, 6, 6)});
  EXPECT_GRADCHECK([](In v) { return cross_entropy(v[0], v[1], 0.1); },
                   {randn64({3, 1}, 7), random_targets(3, 1, 8)});
  EXPECT_GRADCHECK([](In v) { return cross_entropy(transpose(v[0]), v[1], 0.2); },
                   {randn64({6, 4}, 9), random_targets(4, 6, 10, {2})});
}

TEST(CrossEntropy, FusedEqualsComposed) {
  Tensor z = randn64({8, 11}, 11, 3.0);
  Tensor t = random_targets(8, 11, 12, {0, 5});
  for (double eps : {0.0, 0.1, 0.5}) {
    Tensor a = z.detach().set_requires_grad(true);
    Tensor b = z.detach().clone().set_requires_grad(true);
    Tensor la = cross_entropy(a, t, eps), lb = cross_entropy_composed(b, t, eps);
    EXPECT_NEAR(la.item(), lb.item(), 1e-12);
    la.backward();
    lb.backward();
    expect_close(a.grad().to_vector<double>(), b.grad().to_vector<double>(), 1e-12, "grad");
  }
  // per-item values: 0 at ignored rows, mean of the rest equals the mean loss
  Tensor per = cross_entropy_per_item(z, t, 0.1);
  auto pv = per.to_vector<double>();
  EXPECT_EQ(pv[0], 0.0);
  EXPECT_EQ(pv[5], 0.0);
  double s = 0;
  for (double v : pv) s += v;
  EXPECT_NEAR(s / 6, cross_entropy(z, t, 0.1).item(), 1e-12);
}

TEST(CrossEntropy, MatchesTorchGolden) {
  auto golden = load_golden("cross_entropy");
  ASSERT_GE(golden.size(), 6u);
  for (auto& [name, c] : golden) {
    Shape s = golden_shape(c["shape"]);
    for (DType dt : {DType::F64, DType::F32}) {
      Tensor z = f64(c["logits"], s).to(dt).set_requires_grad(true);
      Tensor t = golden_ids(c["targets"], {s[0]});
      Tensor loss = cross_entropy(z, t, c["eps"][0]);
      loss.backward();
      double tol = dt == DType::F64 ? 1e-12 : 2e-6;
      expect_close({loss.item()}, c["loss"], tol, name + " loss");
      expect_close(z.grad().to_vector<double>(), c["grad"], tol, name + " grad");
    }
  }
}

TEST(CrossEntropy, Float32LargeVocabularyMatchesFloat64) {
  // V = 50257 (GPT-2): the fp32 kernel's double accumulation keeps it within fp32 rounding.
  Tensor z64 = randn64({3, 50257}, 15, 3.0);
  Tensor t = ids({17, 50256, 0});
  Tensor z32 = z64.to(DType::F32).set_requires_grad(true);
  Tensor ref = z64.to(DType::F32).to(DType::F64).set_requires_grad(true);  // same inputs
  Tensor l32 = cross_entropy(z32, t, 0.1), l64 = cross_entropy_composed(ref, t, 0.1);
  EXPECT_NEAR(l32.item(), l64.item(), 1e-5 * std::abs(l64.item()));
  l32.backward();
  l64.backward();
  auto g32 = z32.grad().to_vector<double>(), g64 = ref.grad().to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < g32.size(); ++i) worst = std::max(worst, std::abs(g32[i] - g64[i]));
  EXPECT_LT(worst, 1e-7);
}

TEST(CrossEntropy, StableAtHugeLogits) {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor z =
        f64({1e4, -1e4, 0, -1e4, 1e4, 1e4, 1e4, -1e4, -1e4}, {3, 3}).to(dt).set_requires_grad(true);
    Tensor t = ids({1, 0, 2});
    Tensor loss = cross_entropy(z, t, 0.1);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item()));
    // rows: LSE - 0.9 z_t - 0.1 mean(z) = 1.9e4, 1.9e4 + log 2 - 1e3/3, 1.9e4 + 1e3/3
    EXPECT_NEAR(loss.item(), (3 * 1.9e4 + std::log(2.0)) / 3, dt == DType::F32 ? 1e-2 : 1e-9);
    EXPECT_TRUE(all_finite(z.grad()));
  }
}

TEST(CrossEntropy, FullyIgnoredBatchGivesZeroNotNaN) {
  Tensor z = randn64({3, 4}, 13).set_requires_grad(true);
  Tensor t = ids({-100, -100, -100});
  for (auto f : {&cross_entropy, &cross_entropy_composed}) {
    z.zero_grad();
    Tensor loss = f(z, t, 0.1, kIgnoreIndex);
    EXPECT_EQ(loss.item(), 0.0);
    loss.backward();
    for (double g : z.grad().to_vector<double>()) EXPECT_EQ(g, 0.0);
  }
}

TEST(CrossEntropy, BadInputNamesTheLossAndShapes) {
  Tensor z = randn64({3, 4}, 14);
  EXPECT_TLM_ERROR(cross_entropy(z, ids({0, 4, 1})), "cross_entropy", "[3,4]", "[3]", "target 4",
                   "[0, 4)");
  EXPECT_TLM_ERROR(cross_entropy(z, ids({0, -1, 1})), "cross_entropy", "target -1");
  EXPECT_TLM_ERROR(cross_entropy(z, ids({0, 1})), "cross_entropy", "[3,4]", "[2]");
  EXPECT_TLM_ERROR(cross_entropy(z, ids({0, 1, 2, 3}, {2, 2})), "cross_entropy", "[3,4]", "[2,2]");
  EXPECT_TLM_ERROR(cross_entropy(z, ids({0, 1, 2}), 1.5), "cross_entropy", "label_smoothing");
  EXPECT_TLM_ERROR(cross_entropy_composed(z, ids({0, 9, 1})), "cross_entropy", "target 9");
}

}  // namespace
}  // namespace tlm::nn
