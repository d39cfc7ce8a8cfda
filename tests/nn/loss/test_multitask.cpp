// Multi-task weighting (loss space) and gradient combination (gradient space).
#include <limits>

#include "nn/loss/multitask.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

std::vector<Tensor> scalars(In v) {
  std::vector<Tensor> out;
  for (const Tensor& t : v) out.push_back(reshape(t, {}));
  return out;
}

TEST(MultiTaskLoss, ValuesAndGradients) {
  Tensor a = f64({2.0}, {}).set_requires_grad(true), b = f64({0.5}, {}).set_requires_grad(true);
  EXPECT_NEAR(weighted_sum({a, b}, {0.3, 2.0}).item(), 0.6 + 1.0, 1e-15);
  EXPECT_NEAR(equal_weighted({a, b}).item(), 1.25, 1e-15);
  EXPECT_NEAR(normalized_sum({a, b}, {4.0, 0.25}).item(), 0.5 + 2.0, 1e-15);
  // real-time: value n, gradient 1/L_i
  Tensor rt = realtime_normalized({a, b});
  EXPECT_NEAR(rt.item(), 2.0, 1e-15);
  rt.backward();
  EXPECT_NEAR(a.grad().item(), 0.5, 1e-15);
  EXPECT_NEAR(b.grad().item(), 2.0, 1e-15);
  // generalised mean: arithmetic, geometric, harmonic, max, min
  EXPECT_NEAR(generalized_mean({a, b}, 1).item(), 1.25, 1e-14);
  EXPECT_NEAR(generalized_mean({a, b}, 0).item(), 1.0, 1e-14);
  EXPECT_NEAR(generalized_mean({a, b}, -1).item(), 2 / (0.5 + 2.0), 1e-14);
  EXPECT_NEAR(generalized_mean({a, b}, 1e-9).item(), 1.0, 1e-8);
  EXPECT_NEAR(generalized_mean({a, b}, 400).item(), 2.0 * std::pow(0.5, 1.0 / 400), 1e-12);
  EXPECT_EQ(generalized_mean({a, b}, std::numeric_limits<double>::infinity()).item(), 2.0);
  EXPECT_EQ(generalized_mean({a, b}, -std::numeric_limits<double>::infinity()).item(), 0.5);
  // initial-loss normalisation: records the first losses, then divides by them
  InitialLossNormalizer init;
  EXPECT_NEAR(init({a, b}).item(), 2.0, 1e-15);
  Tensor a2 = f64({1.0}, {}), b2 = f64({1.0}, {});
  EXPECT_NEAR(init({a2, b2}).item(), 0.5 + 2.0, 1e-15);
  EXPECT_NEAR(softmax_ce_initial_loss(10), std::log(10.0), 1e-15);
  EXPECT_NEAR(label_entropy({1, 1, 2, 0}), -(2 * 0.25 * std::log(0.25) + 0.5 * std::log(0.5)),
              1e-15);
  InitialLossNormalizer theory({softmax_ce_initial_loss(10), 1.0});
  EXPECT_NEAR(theory({a2, b2}).item(), 1 / std::log(10.0) + 1, 1e-15);
}

TEST(MultiTaskLoss, Gradcheck) {
  std::vector<Tensor> l = {uniform64({}, 1, 0.5, 2), uniform64({}, 2, 0.5, 2),
                           uniform64({}, 3, 0.5, 2)};
  EXPECT_GRADCHECK([](In v) { return weighted_sum(scalars(v), {0.2, 1.0, 3.0}); }, l);
  EXPECT_GRADCHECK([](In v) { return equal_weighted(scalars(v)); }, l);
  for (double g : {1.0, 0.0, -1.0, 2.5})
    EXPECT_GRADCHECK([g](In v) { return generalized_mean(scalars(v), g); }, l);
  // real-time normalisation has a stop-gradient (its value is constant): its gradient must
  // be that of sum log L_i, which finite differences can check.
  std::vector<Tensor> a, b;
  for (const Tensor& t : l) {
    a.push_back(t.detach().clone().set_requires_grad(true));
    b.push_back(t.detach().clone().set_requires_grad(true));
  }
  realtime_normalized(a).backward();
  sum(log(concat({reshape(b[0], {1}), reshape(b[1], {1}), reshape(b[2], {1})}, 0))).backward();
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(a[i].grad().item(), b[i].grad().item(), 1e-15);
  EXPECT_GRADCHECK([](In v) { return sum(log(v[0])); }, {uniform64({3}, 4, 0.5, 2)});
}

TEST(UncertaintyWeighting, GradcheckAndModule) {
  std::vector<TaskKind> kinds = {TaskKind::kRegression, TaskKind::kClassification,
                                 TaskKind::kRegression};
  EXPECT_GRADCHECK(
      [&](In v) {
        return uncertainty_weighted_sum({reshape(v[0], {}), reshape(v[1], {}), reshape(v[2], {})},
                                        v[3], kinds);
      },
      {uniform64({}, 5, 0.5, 2), uniform64({}, 6, 0.5, 2), uniform64({}, 7, 0.5, 2),
       randn64({3}, 8)});
  UncertaintyWeighting uw(kinds);
  EXPECT_EQ(uw.num_parameters(), 3);
  EXPECT_EQ(uw.named_parameters()[0].first, "log_var");
  uw.to(DType::F64);
  Tensor l0 = f64({2.0}, {}), l1 = f64({1.0}, {}), l2 = f64({4.0}, {});
  Tensor total = uw.forward({l0, l1, l2});
  EXPECT_NEAR(total.item(), 0.5 * 2 + 1 + 0.5 * 4, 1e-15);  // s = 0
  total.backward();
  // d/ds_i = -c_i e^{-s_i} L_i + 1/2
  auto g = uw.log_var.grad().to_vector<double>();
  EXPECT_NEAR(g[0], -1 + 0.5, 1e-15);
  EXPECT_NEAR(g[1], -1 + 0.5, 1e-15);
  EXPECT_NEAR(g[2], -2 + 0.5, 1e-15);
  EXPECT_TLM_ERROR(uw.forward({l0, l1}), "uncertainty_weighting", "2 task losses", "[3]");
}

// Random task gradients as lists of two parameter tensors, [3] and [2,2].
TaskGradients random_grads(int n, uint64_t seed) {
  TaskGradients g;
  for (int i = 0; i < n; ++i)
    g.push_back({randn64({3}, seed * 100 + 2 * i), randn64({2, 2}, seed * 100 + 2 * i + 1)});
  return g;
}
double dot(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    auto x = a[k].to_vector<double>(), y = b[k].to_vector<double>();
    for (size_t j = 0; j < x.size(); ++j) s += x[j] * y[j];
  }
  return s;
}

TEST(MultiTaskGradient, TwoTaskClosedFormEqualsFrankWolfe) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Gram G = gram_matrix(random_grads(2, seed));
    MinNormResult cf = min_norm_two(G), fw = min_norm_frank_wolfe(G);
    EXPECT_NEAR(cf.alpha[0], fw.alpha[0], 1e-12) << seed;
    EXPECT_NEAR(cf.norm2, fw.norm2, 1e-12) << seed;
    EXPECT_LE(fw.iterations, 3) << seed;
  }
  // a clipped case: g2 = 2 g1 -> all weight on the smaller gradient
  Gram G = {{1, 2}, {2, 4}};
  EXPECT_EQ(min_norm_two(G).alpha[0], 1.0);
  EXPECT_NEAR(min_norm_frank_wolfe(G).alpha[0], 1.0, 1e-12);
}

TEST(MultiTaskGradient, MinNormNeverIncreasesAnyTask) {
  for (int n : {2, 3, 4, 6}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      TaskGradients g = random_grads(n, seed + 10 * n);
      MinNormResult info;
      std::vector<Tensor> u = mgda_combine(g, &info);
      double asum = 0;
      for (double a : info.alpha) {
        EXPECT_GE(a, 0);
        asum += a;
      }
      EXPECT_NEAR(asum, 1, 1e-12);
      EXPECT_NEAR(dot(u, u), info.norm2, 1e-9);
      // <g_i, u> >= ||u||^2 - gap >= 0 at the min-norm point
      for (int i = 0; i < n; ++i) EXPECT_GE(dot(g[i], u), -1e-9) << n << " " << seed << " " << i;
      // and u is the min-norm point: no vertex or random simplex point does better
      Rng rng(seed);
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> w(n);
        double s = 0;
        for (auto& x : w) s += (x = rng.uniform());
        for (auto& x : w) x /= s;
        auto v = combine_gradients(g, w);
        EXPECT_GE(dot(v, v), info.norm2 - 1e-9);
      }
    }
  }
  // Pareto-stationary: opposite gradients give u = 0
  TaskGradients opp = {{f64({1, 2}, {2})}, {f64({-1, -2}, {2})}};
  auto u = mgda_combine(opp);
  EXPECT_NEAR(dot(u, u), 0, 1e-20);
}

TEST(MultiTaskGradient, GradNormNormalisedSumsUnitGradients) {
  TaskGradients g = {{f64({3, 4}, {2})}, {f64({0, -2}, {2})}, {f64({0, 0}, {2})}};
  auto u = gradnorm_normalized_combine(g);
  auto v = u[0].to_vector<double>();
  EXPECT_NEAR(v[0], 0.6, 1e-15);
  EXPECT_NEAR(v[1], 0.8 - 1.0, 1e-15);
}

TEST(MultiTaskGradient, MainAuxiliary) {
  // no conflict: u == g0 exactly
  TaskGradients aux = {{f64({1, 0, 0}, {3})}, {f64({0.5, 0.5, 0}, {3})}};
  std::vector<Tensor> g0 = {f64({1, 1, 1}, {3})};
  MainAuxResult info;
  auto u = main_aux_combine(g0, aux, &info);
  EXPECT_EQ(u[0].to_vector<double>(), g0[0].to_vector<double>());
  EXPECT_EQ(info.lambda, (std::vector<double>{0, 0}));
  // one auxiliary in conflict: lambda = relu(-<g0,g1>)/||g1||^2, u orthogonal to g1
  TaskGradients one = {{f64({-1, 0.5, 0}, {3})}};
  u = main_aux_combine(g0, one, &info);
  EXPECT_NEAR(info.lambda[0], 0.5 / 1.25, 1e-15);
  EXPECT_NEAR(dot(u, one[0]), 0, 1e-15);
  // random: <u, g_aux> >= 0 for all aux tasks, u = g0 + sum lambda_i g_i with lambda >= 0
  int conflicts = 0;
  for (int m : {1, 2, 3, 5}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      TaskGradients g = random_grads(m + 1, seed + 50 * m);
      std::vector<Tensor> main = g[0];
      TaskGradients rest(g.begin() + 1, g.end());
      u = main_aux_combine(main, rest, &info);
      bool any_conflict = false;
      for (int i = 0; i < m; ++i) {
        EXPECT_GE(info.lambda[i], 0);
        EXPECT_GE(dot(u, rest[i]), -1e-9) << m << " " << seed << " " << i;
        any_conflict |= dot(main, rest[i]) < 0;
      }
      conflicts += any_conflict;
      // optimality: no feasible lambda gets closer to... u minimises ||g0 + sum l g|| over l >= 0
      Rng rng(seed);
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> c{1.0};
        for (int i = 0; i < m; ++i) c.push_back(std::max(0.0, info.lambda[i] + 0.1 * rng.normal()));
        auto v = combine_gradients(g, c);
        EXPECT_GE(dot(v, v), dot(u, u) - 1e-9);
      }
    }
  }
  EXPECT_GT(conflicts, 10);  // the random cases do exercise conflicts
}

TEST(MultiTaskGradient, TaskGradientsRunsOneBackwardPerTask) {
  Tensor w = f64({1.0, -2.0}, {2}).set_requires_grad(true);
  Tensor x = f64({3.0, 0.5}, {2});
  auto g = task_gradients(2, [&](int i) { return i == 0 ? sum(mul(w, x)) : sum(square(w)); }, {w});
  EXPECT_EQ(g[0][0].to_vector<double>(), (std::vector<double>{3.0, 0.5}));
  EXPECT_EQ(g[1][0].to_vector<double>(), (std::vector<double>{2.0, -4.0}));
  EXPECT_FALSE(w.grad().defined());
  // the L2-regulariser-as-auxiliary example: g + relu(-<g,theta>)/||theta||^2 theta
  auto u = main_aux_combine(g[0], {{w.detach()}});
  EXPECT_GE(dot(u, {w.detach()}), -1e-15);
}

TEST(MultiTaskGradient, BadInput) {
  Tensor a = f64({1.0}, {});
  EXPECT_TLM_ERROR(weighted_sum({a, a}, {1.0}), "weighted_sum", "1 weights", "2 task losses");
  EXPECT_TLM_ERROR(equal_weighted({a, f64({1, 2}, {2})}), "equal_weighted", "task loss 1", "[2]");
  EXPECT_TLM_ERROR(generalized_mean({a, f64({-1.0}, {})}, 1.0), "generalized_mean", "positive");
  EXPECT_TLM_ERROR(gram_matrix({{f64({1, 2}, {2})}, {f64({1, 2, 3}, {3})}}), "gram_matrix", "[3]",
                   "[2]");
  EXPECT_TLM_ERROR(min_norm_two(Gram{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}), "min_norm_two", "3");
}

}  // namespace
}  // namespace tlm::nn
