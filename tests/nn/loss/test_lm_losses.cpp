// EMO and TaiLr (LM losses on [N,V] logits) and CoSENT.
#include <limits>

#include "nn/loss/cosent.h"
#include "nn/loss/cross_entropy.h"
#include "nn/loss/emo.h"
#include "nn/loss/tailr.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

// ---------------------------------------------------------------------------------------
// EMO
// ---------------------------------------------------------------------------------------
// The stop-gradient weight makes emo_loss's gradient differ from the derivative of its
// value, so finite differences apply to the parts (emo_distance, CE); the combination is
// checked against the gradient of 1/2 (ce + w0 emo) with w0 frozen at the evaluation point.
TEST(Emo, GradcheckDistanceAndStopGradientCombination) {
  Tensor t = random_targets(5, 6, 1, {1, 4});
  Tensor E = randn64({6, 3}, 2);
  EXPECT_GRADCHECK([&](In v) { return emo_distance(v[0], t, E); }, {randn64({5, 6}, 5)});
  EXPECT_GRADCHECK(
      [&](In v) {
        return emo_distance(v[0], random_targets(1, 2, 7), randn64({2, 1}, 8));
      },
      {randn64({1, 2}, 9)});
  for (double cap : {std::numeric_limits<double>::infinity(), 0.5}) {
    EmoOptions o;
    o.max_weight = cap;
    Tensor z0 = randn64({5, 6}, 3, 2.0);
    // w0 = min(ce/(emo + 1e-10), cap), a constant
    auto ce = cross_entropy_per_item(z0, t).to_vector<double>();
    auto em = emo_distance(z0, t, E).to_vector<double>();
    std::vector<double> w0(5);
    for (int i = 0; i < 5; ++i) w0[i] = std::min(ce[i] / (em[i] + 1e-10), cap);
    Tensor w = f64(w0, {5});
    auto frozen = [&](In v) {
      return mul(add(cross_entropy_per_item(v[0], t), mul(w, emo_distance(v[0], t, E))), 0.5);
    };
    EXPECT_GRADCHECK(frozen, {z0});
    Tensor a = z0.detach().set_requires_grad(true), b = z0.detach().clone().set_requires_grad(true);
    sum(emo_loss_per_item(a, t, E, o)).backward();
    sum(frozen({b})).backward();
    expect_close(a.grad().to_vector<double>(), b.grad().to_vector<double>(), 1e-12, "grad");
    // value: both terms equal (uncapped), so l_tok = ce
    if (std::isinf(cap)) {
      auto per = emo_loss_per_item(z0, t, E).to_vector<double>();
      for (int i = 0; i < 5; ++i) EXPECT_NEAR(per[i], ce[i], 1e-9);
    }
  }
}

TEST(Emo, PerTokenFormulaByDirectLoop) {
  const int N = 4, V = 5, D = 3;
  Tensor z = randn64({N, V}, 10, 2.0);
  Tensor t = ids({3, -100, 0, 4});
  Tensor E = randn64({V, D}, 11);
  auto zv = z.to_vector<double>(), ev = E.to_vector<double>();
  auto tv = t.to_vector<int32_t>();
  std::vector<double> en(ev);
  for (int i = 0; i < V; ++i) {
    double n = 0;
    for (int k = 0; k < D; ++k) n += ev[i * D + k] * ev[i * D + k];
    for (int k = 0; k < D; ++k) en[i * D + k] /= std::sqrt(n);
  }
  double total = 0;
  auto per = emo_loss_per_item(z, t, E).to_vector<double>();
  for (int n = 0; n < N; ++n) {
    if (tv[n] < 0) {
      EXPECT_EQ(per[n], 0.0);
      continue;
    }
    double m = -1e300, s = 0;
    for (int i = 0; i < V; ++i) m = std::max(m, zv[n * V + i]);
    for (int i = 0; i < V; ++i) s += std::exp(zv[n * V + i] - m);
    double emo = 0;  // sum_i p_i (1 - e_i . e_t)
    for (int i = 0; i < V; ++i) {
      double p = std::exp(zv[n * V + i] - m) / s, dot = 0;
      for (int k = 0; k < D; ++k) dot += en[i * D + k] * en[tv[n] * D + k];
      emo += p * (1 - dot);
    }
    double ce = m + std::log(s) - zv[n * V + tv[n]];
    double tok = 0.5 * (ce + ce / (emo + 1e-10) * emo);
    EXPECT_NEAR(per[n], tok, 1e-12);
    total += tok;
  }
  EXPECT_NEAR(emo_loss(z, t, E).item(), total / 3, 1e-12);
}

TEST(Emo, MatchesTorchGoldenAndGradientIsHalfCePlusWeightedEmo) {
  auto golden = load_golden("lm");
  auto& c = golden["emo"];
  Shape s = golden_shape(c["shape"]);
  Tensor z = f64(c["logits"], {s[0], s[1]}).set_requires_grad(true);
  Tensor t = golden_ids(c["targets"], {s[0]});
  Tensor E = f64(c["embedding"], {s[1], s[2]});
  Tensor l = emo_loss(z, t, E);
  l.backward();
  expect_close({l.item()}, c["loss"], 1e-12, "emo loss");
  expect_close(z.grad().to_vector<double>(), c["grad"], 1e-12, "emo grad");
  // the cost embedding is frozen: no gradient reaches it
  Tensor Eg = E.detach().set_requires_grad(true);
  emo_loss(z.detach(), t, Eg).item();
  EXPECT_FALSE(Eg.grad().defined());
}

TEST(Emo, StableAtHugeLogitsAndFullyIgnored) {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor z = f64({1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt).set_requires_grad(true);
    Tensor l = emo_loss(z, ids({0, 0}), randn64({3, 2}, 12).to(dt));
    l.backward();
    EXPECT_TRUE(std::isfinite(l.item()));
    EXPECT_TRUE(all_finite(z.grad()));
  }
  Tensor z = randn64({2, 3}, 13).set_requires_grad(true);
  Tensor l = emo_loss(z, ids({-100, -100}), randn64({3, 2}, 14));
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  EXPECT_TRUE(all_finite(z.grad()));
}

TEST(Emo, BadInput) {
  Tensor z = randn64({2, 3}, 15);
  EXPECT_TLM_ERROR(emo_loss(z, ids({0, 1}), randn64({4, 2}, 1)), "emo_loss", "[2,3]", "[4,2]");
  EXPECT_TLM_ERROR(emo_loss(z, ids({0, 5}), randn64({3, 2}, 1)), "emo_loss", "target 5", "[2]");
  EXPECT_TLM_ERROR(emo_loss(z, ids({0, 1, 2}), randn64({3, 2}, 1)), "emo_loss", "[2,3]", "[3]");
}

// ---------------------------------------------------------------------------------------
// TaiLr
// ---------------------------------------------------------------------------------------
TEST(Tailr, GammaZeroIsCrossEntropyAndGradientIsReweightedCe) {
  Tensor z = randn64({6, 4}, 20, 2.0);
  Tensor t = random_targets(6, 4, 21, {2});
  EXPECT_NEAR(tailr_loss(z, t, 0.0).item(), cross_entropy(z, t).item(), 1e-13);
  EXPECT_NEAR(tailr_loss(z, t, 1e-7).item(), cross_entropy(z, t).item(), 1e-6);
  EXPECT_NEAR(tailr_weighted_loss(z, t, 0.0, 0.0).item(), cross_entropy(z, t).item(), 1e-13);
  // gradient = CE's gradient times p/(gamma + (1-gamma) p) per row, so with the weight held
  // fixed the paper form (b = 0) has the same gradient as the loss itself
  const double gamma = 0.4;
  Tensor a = z.detach().set_requires_grad(true), b = z.detach().clone().set_requires_grad(true);
  tailr_loss(a, t, gamma).backward();
  tailr_weighted_loss(b, t, gamma, 0.0).backward();
  expect_close(a.grad().to_vector<double>(), b.grad().to_vector<double>(), 1e-12, "grad");
  // gamma -> 1: -p (mean)
  Tensor lp = log_softmax(z, -1);
  auto lpv = lp.to_vector<double>();
  auto tv = t.to_vector<int32_t>();
  double mp = 0;
  for (int i = 0; i < 6; ++i)
    if (tv[i] >= 0) mp += std::exp(lpv[i * 4 + tv[i]]);
  // gamma -> 1: 1 - p (the -p of docs/methods.md, "TaiLr", up to a constant)
  EXPECT_NEAR(tailr_loss(z, t, 1 - 1e-7).item(), 1 - mp / 5, 1e-6);
}

TEST(Tailr, MatchesTorchGolden) {
  auto golden = load_golden("lm");
  auto& c = golden["tailr_g03"];
  Shape s = golden_shape(c["shape"]);
  Tensor z = f64(c["logits"], s).set_requires_grad(true);
  Tensor l = tailr_loss(z, golden_ids(c["targets"], {s[0]}), c["gamma"][0]);
  l.backward();
  expect_close({l.item()}, c["loss"], 1e-12, "tailr loss");
  expect_close(z.grad().to_vector<double>(), c["grad"], 1e-12, "tailr grad");
}

TEST(Tailr, Gradcheck) {
  Tensor t = random_targets(5, 4, 22, {0});
  for (double gamma : {0.0, 1e-3, 0.3, 0.8})
    EXPECT_GRADCHECK([&](In v) { return tailr_loss(v[0], t, gamma); }, {randn64({5, 4}, 23, 2.0)});
  // The paper form's weight is stop-gradient: compare with -w0 log p, w0 frozen (the floor
  // b = 0.2 binds on some rows, b = 0.9 on most).
  for (double b : {0.2, 0.9}) {
    const double gamma = 0.5;
    Tensor z0 = randn64({5, 4}, 24, 2.0);
    auto tv = t.to_vector<int32_t>();
    auto lp = log_softmax(z0, -1).to_vector<double>();
    std::vector<double> w0(5);
    for (int i = 0; i < 5; ++i) {
      double p = tv[i] >= 0 ? std::exp(lp[i * 4 + tv[i]]) : 0;
      w0[i] = tv[i] >= 0 ? std::max(b, p / (gamma + (1 - gamma) * p)) : 0;
    }
    Tensor a = z0.detach().set_requires_grad(true), c = z0.detach().clone().set_requires_grad(true);
    tailr_weighted_loss(a, t, gamma, b).backward();
    // -sum_i w0_i log p_i / n_valid, via CE per item (log p at valid rows)
    mul(sum(mul(f64(w0, {5}), cross_entropy_per_item(c, t))), 1.0 / 4).backward();
    expect_close(a.grad().to_vector<double>(), c.grad().to_vector<double>(), 1e-12, "grad");
    EXPECT_GRADCHECK([&](In v) { return mul(f64(w0, {5}), cross_entropy_per_item(v[0], t)); },
                     {z0});
  }
  EXPECT_GRADCHECK([&](In v) { return tailr_loss(v[0], random_targets(1, 1, 26), 0.5); },
                   {randn64({1, 1}, 27)});
}

TEST(Tailr, StableAndBadInput) {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor z = f64({1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt).set_requires_grad(true);
    Tensor l = add(tailr_loss(z, ids({0, 0}), 0.1), tailr_weighted_loss(z, ids({0, 0}), 0.1, 0.2));
    l.backward();
    EXPECT_TRUE(std::isfinite(l.item()));
    EXPECT_TRUE(all_finite(z.grad()));
  }
  Tensor z = randn64({2, 3}, 28).set_requires_grad(true);
  Tensor l = tailr_loss(z, ids({-100, -100}), 0.5);
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  EXPECT_TRUE(all_finite(z.grad()));
  EXPECT_TLM_ERROR(tailr_loss(z, ids({0, 3}), 0.1), "tailr_loss", "[2,3]", "[2]", "target 3");
  EXPECT_TLM_ERROR(tailr_loss(z, ids({0}), 0.1), "tailr_loss", "[2,3]", "[1]");
  EXPECT_TLM_ERROR(tailr_loss(z, ids({0, 1}), 1.0), "tailr_loss", "gamma");
  EXPECT_TLM_ERROR(tailr_weighted_loss(z, ids({0, 1}), 0.1, 2.0), "tailr_loss", "floor");
}

// ---------------------------------------------------------------------------------------
// CoSENT
// ---------------------------------------------------------------------------------------
TEST(Cosent, DirectEnumeration) {
  Tensor c = f64({0.9, 0.1, 0.5, -0.3, 0.7}, {5});
  Tensor y = f64({5, 1, 3, 0, 3}, {5});
  auto cv = c.to_vector<double>(), yv = y.to_vector<double>();
  for (double lambda : {20.0, 1.0}) {
    double s = 1;
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 5; ++b)
        if (yv[a] > yv[b]) s += std::exp(lambda * (cv[b] - cv[a]));
    EXPECT_NEAR(cosent_loss(c, y, lambda).item(), std::log(s), 1e-12);
  }
  // int labels, binary; equal labels everywhere -> 0
  EXPECT_NEAR(cosent_loss(c, ids({1, 0, 1, 0, 0})).item(),
              cosent_loss(c, f64({1, 0, 1, 0, 0}, {5})).item(), 0);
  EXPECT_EQ(cosent_loss(c, f64({2, 2, 2, 2, 2}, {5})).item(), 0.0);
}

TEST(Cosent, GradcheckStableBadInput) {
  Tensor y = f64({2, 0, 1, 1, 3, 0}, {6});
  EXPECT_GRADCHECK([&](In v) { return cosent_loss(v[0], y, 20.0); }, {uniform64({6}, 30, -1, 1)});
  EXPECT_GRADCHECK([&](In v) { return cosent_loss(v[0], f64({1}, {1})); },
                   {uniform64({1}, 31, -1, 1)});
  EXPECT_GRADCHECK([&](In v) { return cosent_loss(cosine_similarity(v[0], v[1]), y); },
                   {randn64({6, 3}, 32), randn64({6, 3}, 33)});
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor c = f64({1e4, -1e4, 1e4, -1e4}, {4}).to(dt).set_requires_grad(true);
    Tensor l = cosent_loss(c, f64({0, 1, 1, 0}, {4}));
    l.backward();
    EXPECT_TRUE(std::isfinite(l.item()));
    EXPECT_TRUE(all_finite(c.grad()));
    EXPECT_NEAR(l.item(), 20 * 2e4 + std::log(2.0), 1);
  }
  Tensor c = uniform64({3}, 34, -1, 1).set_requires_grad(true);
  Tensor l = cosent_loss(c, f64({1, 1, 1}, {3}));  // no ordered pair at all
  l.backward();
  EXPECT_EQ(l.item(), 0.0);
  EXPECT_TRUE(all_finite(c.grad()));
  EXPECT_TLM_ERROR(cosent_loss(c, f64({1, 0}, {2})), "cosent_loss", "[3]", "[2]");
  EXPECT_TLM_ERROR(cosent_loss(f64({0, 1, 0, 1}, {2, 2}), f64({1, 0}, {2})), "cosent_loss",
                   "[2,2]");
}

}  // namespace
}  // namespace tlm::nn
