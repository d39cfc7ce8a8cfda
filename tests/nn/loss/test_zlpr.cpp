// ZLPR (multi-label softmax + CE), soft-label ZLPR and the GlobalPointer sigmoid "KL".
#include <limits>

#include "nn/loss/globalpointer_kl.h"
#include "nn/loss/zlpr.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

Tensor random_labels(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> v(shape_numel(s));
  for (auto& x : v) x = static_cast<int32_t>(rng.randint(2));
  return Tensor::from_vector(v, s);
}

TEST(Zlpr, Gradcheck) {
  Tensor y = random_labels({3, 5}, 1);
  Tensor mask = ids({1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, {3, 5});  // row 2 fully masked
  EXPECT_GRADCHECK([&](In v) { return zlpr_loss(v[0], y); }, {randn64({3, 5}, 2, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return zlpr_loss(v[0], y, mask); }, {randn64({3, 5}, 3, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return zlpr_loss_per_item(v[0], y, mask); },
                   {randn64({3, 5}, 4, 2.0)});
  // [B, heads, L, L] (GlobalPointer), a broadcast mask over the heads, size-1 dims
  Tensor y4 = random_labels({2, 1, 3, 3}, 5);
  Tensor m4 = ids({1, 1, 0, 1, 1, 0, 1, 1, 1}, {3, 3});
  EXPECT_GRADCHECK([&](In v) { return zlpr_loss(v[0], y4, m4); }, {randn64({2, 1, 3, 3}, 6)});
  EXPECT_GRADCHECK([&](In v) { return zlpr_loss(v[0], ids({1}, {1, 1})); }, {randn64({1, 1}, 7)});
}

TEST(Zlpr, TwoClassByHand) {
  // s = [a, b], y = [1, 0]: l = log(1 + e^b) + log(1 + e^-a)
  const double a = 0.7, b = -1.3;
  Tensor s = f64({a, b}, {1, 2}).set_requires_grad(true);
  Tensor l = zlpr_loss(s, ids({1, 0}, {1, 2}));
  EXPECT_NEAR(l.item(), std::log1p(std::exp(b)) + std::log1p(std::exp(-a)), 1e-14);
  l.backward();
  auto g = s.grad().to_vector<double>();
  EXPECT_NEAR(g[0], -std::exp(-a) / (1 + std::exp(-a)), 1e-14);
  EXPECT_NEAR(g[1], std::exp(b) / (1 + std::exp(b)), 1e-14);
  // all negative / all positive rows: only one LSE is non-trivial
  Tensor s2 = f64({0.5, -0.2, 1.0, 2.0}, {2, 2});
  double want = (std::log(1 + std::exp(0.5) + std::exp(-0.2)) +
                 std::log(1 + std::exp(-1.0) + std::exp(-2.0))) /
                2;
  EXPECT_NEAR(zlpr_loss(s2, ids({0, 0, 1, 1}, {2, 2})).item(), want, 1e-14);
}

TEST(Zlpr, SoftReducesToHardAndHasOptimumAtSigmoid2s) {
  Tensor s = randn64({4, 6}, 8, 2.0);
  Tensor y = random_labels({4, 6}, 9);
  Tensor mask = random_labels({4, 6}, 10);
  EXPECT_NEAR(soft_zlpr_loss(s, y.to(DType::F64), mask).item(), zlpr_loss(s, y, mask).item(), 1e-6);
  EXPECT_NEAR(soft_zlpr_loss(s, y.to(DType::F64)).item(), zlpr_loss(s, y).item(), 1e-6);
  // one label with soft target t: the gradient vanishes at s = log(t/(1-t))/2 (p = sigma(2s))
  for (double t : {0.1, 0.5, 0.8}) {
    Tensor x = f64({0.5 * std::log(t / (1 - t))}, {1, 1}).set_requires_grad(true);
    soft_zlpr_loss(x, f64({t}, {1, 1})).backward();
    EXPECT_NEAR(x.grad().item(), 0.0, 1e-12) << t;
  }
}

TEST(Zlpr, Prediction) {
  Tensor s = f64({0.5, -0.1, 0.0, 3.0}, {2, 2});
  EXPECT_EQ(zlpr_predict(s).to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 0, 1}));
  EXPECT_NEAR(soft_zlpr_probability(s).to_vector<double>()[0], 1 / (1 + std::exp(-1.0)), 1e-15);
}

TEST(Zlpr, GradcheckSoft) {
  Tensor t = f64({0.0, 0.3, 1.0, 0.5, 0.9, 0.05, 1.0, 0.0, 0.2, 0.7}, {2, 5});
  Tensor mask = ids({1, 1, 1, 0, 1, 1, 0, 1, 1, 1}, {2, 5});
  EXPECT_GRADCHECK([&](In v) { return soft_zlpr_loss(v[0], t, mask); }, {randn64({2, 5}, 11)});
  EXPECT_GRADCHECK([&](In v) { return soft_zlpr_loss(v[0], t); }, {randn64({2, 5}, 12)});
  EXPECT_GRADCHECK(
      [&](In v) {
        return soft_zlpr_loss(v[0], f64({0.4}, {1, 1}));
      },
      {randn64({1, 1}, 13)});
}

TEST(Zlpr, StableAndMaskedScoresGiveNoNaN) {
  const double inf = std::numeric_limits<double>::infinity();
  for (DType dt : {DType::F32, DType::F64}) {
    // huge scores, and masked entries holding -inf / -1e12 (what GlobalPointer writes)
    Tensor s =
        f64({1e4, -1e4, -inf, -1e12, -1e4, 1e4, 1e4, -1e12}, {2, 4}).to(dt).set_requires_grad(true);
    Tensor y = ids({1, 0, 1, 0, 1, 0, 0, 1}, {2, 4});
    Tensor mask = ids({1, 1, 0, 0, 1, 1, 1, 0}, {2, 4});
    Tensor l = zlpr_loss(s, y, mask);
    l.backward();
    EXPECT_TRUE(std::isfinite(l.item()));
    EXPECT_TRUE(all_finite(s.grad()));
    s.zero_grad();
    Tensor ls = soft_zlpr_loss(s, f64({1, 0, 0.5, 0.5, 0.3, 0, 0.2, 1}, {2, 4}).to(dt), mask);
    ls.backward();
    EXPECT_TRUE(std::isfinite(ls.item()));
    EXPECT_TRUE(all_finite(s.grad()));
    s.zero_grad();
    Tensor t = f64({1e4, -1e4, -1e12, -inf, 0, 1e4, 1e4, -inf}, {2, 4}).to(dt);
    Tensor d = globalpointer_kl(s, t, mask);
    d.backward();
    EXPECT_TRUE(std::isfinite(d.item()));
    EXPECT_TRUE(all_finite(s.grad()));
  }
  // fully masked batch: 0, zero gradient
  Tensor s = randn64({2, 3}, 14).set_requires_grad(true);
  Tensor none = Tensor::zeros({2, 3}, DType::I32);
  Tensor l = add(zlpr_loss(s, random_labels({2, 3}, 15), none),
                 soft_zlpr_loss(s, uniform64({2, 3}, 16, 0, 1), none));
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  for (double g : s.grad().to_vector<double>()) EXPECT_EQ(g, 0.0);
}

TEST(Zlpr, BadInput) {
  Tensor s = randn64({2, 3}, 17);
  EXPECT_TLM_ERROR(zlpr_loss(s, ids({1, 0, 1}, {3})), "zlpr_loss", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(zlpr_loss(s, ids({1, 0, 2, 0, 0, 1}, {2, 3})), "zlpr_loss", "label 2");
  EXPECT_TLM_ERROR(zlpr_loss(s, random_labels({2, 3}, 1), ids({1, 0}, {2})), "zlpr_loss", "[2,3]",
                   "[2]");
  EXPECT_TLM_ERROR(soft_zlpr_loss(s, f64({0, 0.5, 1.5, 0, 0, 0}, {2, 3})), "soft_zlpr_loss",
                   "[2,3]", "target 1.5", "[0, 1]");
  EXPECT_TLM_ERROR(soft_zlpr_loss(s, f64({0, -0.1, 0.5, 0, 0, 0}, {2, 3})), "soft_zlpr_loss",
                   "target -0.1");
  EXPECT_TLM_ERROR(soft_zlpr_loss(s, f64({0, 0.5}, {1, 2})), "soft_zlpr_loss", "[2,3]", "[1,2]");
  EXPECT_TLM_ERROR(globalpointer_kl(s, randn64({3, 2}, 1)), "globalpointer_kl", "[2,3]", "[3,2]");
}

TEST(GlobalPointerKl, GradcheckAndClosedForm) {
  Tensor mask = ids({1, 0, 1, 1, 1, 1, 0, 0}, {2, 4});
  EXPECT_GRADCHECK([&](In v) { return globalpointer_kl(v[0], v[1], mask); },
                   {randn64({2, 4}, 20, 2.0), randn64({2, 4}, 21, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return globalpointer_kl(v[0], v[1]); },
                   {randn64({1, 1, 3}, 22), randn64({1, 1, 3}, 23)});
  Tensor y = random_labels({2, 4}, 24);
  EXPECT_GRADCHECK([&](In v) { return globalpointer_rdrop_loss(v[0], v[1], y, 0.5, mask); },
                   {randn64({2, 4}, 25), randn64({2, 4}, 26)});
  // D equals the sum of binary symmetric KLs of Bernoulli(sigma(s_i)) and Bernoulli(sigma(t_i))
  Tensor s = randn64({2, 4}, 27, 2.0), t = randn64({2, 4}, 28, 2.0);
  auto sv = s.to_vector<double>(), tv = t.to_vector<double>();
  auto mv = mask.to_vector<int32_t>();
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  auto kl = [](double p, double q) {
    return p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
  };
  double total = 0;
  for (size_t i = 0; i < sv.size(); ++i)
    if (mv[i]) total += kl(sig(sv[i]), sig(tv[i])) + kl(sig(tv[i]), sig(sv[i]));
  EXPECT_NEAR(globalpointer_kl(s, t, mask).item(), total / 2, 1e-12);
  EXPECT_EQ(globalpointer_kl(s, s).item(), 0.0);
}

}  // namespace
}  // namespace tlm::nn
