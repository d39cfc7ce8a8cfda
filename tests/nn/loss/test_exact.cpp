// EXACT: Gauss-Hermite rule, log Phi, closed form for two classes, Monte Carlo, gradcheck.
#include <numbers>

#include "autograd/ops/loss_special.h"
#include "nn/loss/exact.h"
#include "tensor/kernels/loss_special.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

TEST(Exact, GaussHermiteIntegratesPolynomialsExactly) {
  for (int n : {1, 2, 5, 32, 64}) {
    GaussHermite gh = gauss_hermite(n);
    double m0 = 0, m2 = 0, m4 = 0;
    for (int k = 0; k < n; ++k) {
      double x = gh.nodes[k], w = gh.weights[k];
      m0 += w;
      m2 += w * x * x;
      m4 += w * x * x * x * x;
      if (k > 0) {
        EXPECT_LT(gh.nodes[k - 1], x);
      }
    }
    const double sp = std::sqrt(std::numbers::pi);
    EXPECT_NEAR(m0, sp, 1e-12) << n;
    if (n >= 2) {
      EXPECT_NEAR(m2, sp / 2, 1e-12) << n;
    }
    if (n >= 3) {
      EXPECT_NEAR(m4, 3 * sp / 4, 1e-11) << n;
    }
  }
}

TEST(Exact, LogNdtrValuesTailsAndGradient) {
  for (double x : {-5.0, -1.0, 0.0, 0.3, 2.0, 7.0})
    EXPECT_NEAR(kernels::log_ndtr(x), std::log(Phi(x)), 1e-13) << x;
  EXPECT_NEAR(kernels::log_ndtr(8.5), -Phi(-8.5), 1e-25);
  // continuity at the switch to the asymptotic series, and the deep tail
  EXPECT_NEAR(kernels::log_ndtr(-30.0 + 1e-9), kernels::log_ndtr(-30.0 - 1e-9), 1e-7);
  EXPECT_NEAR(kernels::log_ndtr(-1e4),
              -0.5e8 - std::log(1e4) - 0.5 * std::log(2 * std::numbers::pi), 1e-6);
  EXPECT_NEAR(kernels::log_ndtr_derivative(-1e4), 1e4, 1e-3);
  EXPECT_GRADCHECK([](In v) { return log_ndtr(v[0]); },
                   {f64({-40, -31, -29, -6, -1, 0, 0.5, 3, 6, 9}, {10})});
}

TEST(Exact, TwoClassClosedForm) {
  // C = 2: p = P(eps_0 - eps_1 < (mu_y - mu_i)/sigma) = Phi((mu_y - mu_i)/(sigma sqrt 2)).
  Tensor mu = f64({0.3, -0.4, 2.0, 1.0, -1.0, 0.5}, {3, 2});
  Tensor t = ids({0, 1, 0});
  Tensor sigma = f64({0.7, 1.3, 2.0}, {3});
  ExactOptions o;
  o.quadrature_points = 64;
  Tensor logp = exact_log_expected_accuracy(mu, t, sigma, 64);
  auto lp = logp.to_vector<double>();
  EXPECT_NEAR(std::exp(lp[0]), Phi(0.7 / (0.7 * std::sqrt(2.0))), 1e-10);
  EXPECT_NEAR(std::exp(lp[1]), Phi(-1.0 / (1.3 * std::sqrt(2.0))), 1e-10);
  EXPECT_NEAR(std::exp(lp[2]), Phi(-1.5 / (2.0 * std::sqrt(2.0))), 1e-10);
  double mean_p = (std::exp(lp[0]) + std::exp(lp[1]) + std::exp(lp[2])) / 3;
  EXPECT_NEAR(exact_loss(mu, t, sigma, o).item(), -mean_p, 1e-14);
  o.objective = ExactObjective::kNegLogExpectedAccuracy;
  EXPECT_NEAR(exact_loss(mu, t, sigma, o).item(), -(lp[0] + lp[1] + lp[2]) / 3, 1e-14);
}

TEST(Exact, MatchesMonteCarlo) {
  // p = P(target wins) for mu/sigma + N(0, I): 400k samples, standard error < 1e-3.
  const std::vector<double> mu = {1.2, 0.4, -0.3, 0.9, 0.0};
  const int y = 0;
  const double sigma = 0.8;
  Rng rng(42);
  const int n = 400000;
  int wins = 0;
  for (int s = 0; s < n; ++s) {
    double best = -1e300;
    int arg = -1;
    for (int i = 0; i < 5; ++i) {
      double v = mu[i] / sigma + rng.normal();
      if (v > best) best = v, arg = i;
    }
    wins += arg == y;
  }
  const double mc = static_cast<double>(wins) / n;
  const double p = -exact_loss(f64(mu, {1, 5}), ids({y}), sigma).item();
  EXPECT_NEAR(p, mc, 4 * std::sqrt(mc * (1 - mc) / n));
  EXPECT_GT(p, 0.3);
}

TEST(Exact, Gradcheck) {
  Tensor t = random_targets(4, 3, 1, {2});
  ExactOptions o;
  o.quadrature_points = 16;
  EXPECT_GRADCHECK([&](In v) { return exact_loss(v[0], t, v[1], o); },
                   {randn64({4, 3}, 2), uniform64({4}, 3, 0.5, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return exact_loss(v[0], t, v[1], o); },
                   {randn64({4, 3}, 4), f64({1.3}, {})});
  o.objective = ExactObjective::kNegLogExpectedAccuracy;
  EXPECT_GRADCHECK([&](In v) { return exact_loss(v[0], t, 0.9, o); }, {randn64({4, 3}, 5, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return exact_loss(v[0], random_targets(1, 2, 6), 1.0, o); },
                   {randn64({1, 2}, 7)});
  EXPECT_GRADCHECK([&](In v) { return exact_loss(v[0], random_targets(2, 1, 8), 1.0, o); },
                   {randn64({2, 1}, 9)});
}

TEST(Exact, StableAtHugeLogitsAndFullyIgnored) {
  for (DType dt : {DType::F32, DType::F64})
    for (auto obj :
         {ExactObjective::kNegExpectedAccuracy, ExactObjective::kNegLogExpectedAccuracy}) {
      ExactOptions o;
      o.objective = obj;
      Tensor mu = f64({1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt).set_requires_grad(true);
      Tensor l = exact_loss(mu, ids({0, 0}), 1.0, o);
      l.backward();
      EXPECT_TRUE(std::isfinite(l.item()));
      EXPECT_TRUE(all_finite(mu.grad()));
    }
  Tensor mu = randn64({2, 3}, 10).set_requires_grad(true);
  Tensor l = exact_loss(mu, ids({-100, -100}), 1.0);
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  EXPECT_TRUE(all_finite(mu.grad()));
}

TEST(Exact, BadInput) {
  Tensor mu = randn64({2, 3}, 11);
  EXPECT_TLM_ERROR(exact_loss(mu, ids({0, 3}), 1.0), "exact_loss", "[2,3]", "[2]", "target 3");
  EXPECT_TLM_ERROR(exact_loss(mu, ids({0}), 1.0), "exact_loss", "[2,3]", "[1]");
  EXPECT_TLM_ERROR(exact_loss(mu, ids({0, 1}), f64({1, 1, 1}, {3})), "exact_loss", "[2,3]", "[3]");
  EXPECT_TLM_ERROR(exact_loss(mu, ids({0, 1}), -1.0), "exact_loss", "sigma");
}

}  // namespace
}  // namespace tlm::nn
