// Closed-form checks of each update rule, and the fused kernels' parallel path.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/adamw.h"
#include "optim/lion.h"
#include "optim/sgd.h"
#include "tensor/kernels/parallel.h"

namespace tlm::optim {
namespace {

Tensor f64(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).set_requires_grad(true);
}
void set_grad(Tensor& p, const std::vector<double>& g) {
  p.set_grad(Tensor::from_vector(g, {static_cast<int64_t>(g.size())}));
}
std::vector<ParamGroup> one_group(Tensor& p, double wd) { return {{{{"p", p}}, wd, 1.0}}; }

// First AdamW step without decay: m̂ = g, v̂ = g², so Δθ = -lr g / (|g| + eps).
TEST(AdamWRule, FirstStepIsSignedLr) {
  Tensor p = f64({1.0, -2.0, 0.5, 3.0});
  AdamW opt(one_group(p, 0.0), 0.01, 0.9, 0.99, 1e-8);
  const std::vector<double> g = {0.3, -4.0, 1e-9, 0.0};
  set_grad(p, g);
  opt.step();
  const std::vector<double> p0 = {1.0, -2.0, 0.5, 3.0};
  auto v = p.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(v[i], p0[i] - 0.01 * g[i] / (std::abs(g[i]) + 1e-8), 1e-15) << i;
}

// Decoupled decay: with g = 0 the moments stay 0 and only θ ← θ(1 − ηλ) remains, exactly.
// (L2 decay folded into g would instead move θ by ≈ lr after Adam's normalisation.)
TEST(AdamWRule, WeightDecayIsDecoupled) {
  Tensor p = f64({1.0, -2.0});
  AdamW opt(one_group(p, 0.1), 0.01, 0.9, 0.999, 1e-8);
  for (int s = 0; s < 3; ++s) {
    set_grad(p, {0.0, 0.0});
    opt.step();
  }
  const double decay = 1.0 - 0.01 * 0.1;
  auto v = p.to_vector<double>();
  EXPECT_EQ(v[0], 1.0 * decay * decay * decay);
  EXPECT_EQ(v[1], -2.0 * decay * decay * decay);
}

// Two steps by hand, t = 1, 2.
TEST(AdamWRule, TwoStepsByHand) {
  const double lr = 0.1, b1 = 0.8, b2 = 0.9, eps = 1e-3, wd = 0.5;
  Tensor p = f64({1.0});
  AdamW opt(one_group(p, wd), lr, b1, b2, eps);
  double th = 1.0, m = 0, v = 0;
  for (int t = 1; t <= 2; ++t) {
    const double g = t == 1 ? 0.5 : -0.25;
    set_grad(p, {g});
    opt.step();
    th *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double mh = m / (1 - std::pow(b1, t)), vh = v / (1 - std::pow(b2, t));
    th -= lr * mh / (std::sqrt(vh) + eps);
    EXPECT_NEAR(p.item(), th, 1e-14) << "t = " << t;
  }
}

// Lion: sign(0) = 0, so an element whose interpolated momentum is exactly 0 does not move;
// every other element moves by exactly lr.
TEST(LionRule, SignOfZeroIsZero) {
  Tensor p = f64({1.0, 2.0, 3.0, -4.0});
  Lion opt(one_group(p, 0.0), 0.125, 0.9, 0.99);
  set_grad(p, {0.0, 0.5, -1e-30, 0.0});
  opt.step();
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{1.0, 1.875, 3.125, -4.0}));
  // m = 0.01 g: still exactly 0 where g was 0, so those elements stay put with g = 0 again.
  set_grad(p, {0.0, 0.0, 0.0, -0.0});
  opt.step();
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{1.0, 1.75, 3.25, -4.0}));
}

// The sign uses β1 to interpolate the *old* momentum with g; m is then updated with β2.
// m1 = (1-β2) g1 = 0.01; c2 = β1 m1 + (1-β1) g2 = 0.009 - 0.01 < 0, while β2 in the
// interpolation would give 0.0099 - 0.001 > 0.
TEST(LionRule, InterpolationUsesBeta1AndOldMomentum) {
  Tensor p = f64({0.0});
  Lion opt(one_group(p, 0.0), 1.0, 0.9, 0.99);
  set_grad(p, {1.0});
  opt.step();
  EXPECT_EQ(p.item(), -1.0);
  set_grad(p, {-0.1});
  opt.step();
  EXPECT_EQ(p.item(), 0.0);  // moved by +1: the sign was negative
  EXPECT_NEAR(opt.state_dict().tensors.at("p.exp_avg").item(), 0.99 * 0.01 + 0.01 * -0.1, 1e-17);
}

TEST(LionRule, DecoupledDecayScaledByLr) {
  Tensor p = f64({2.0});
  Lion opt(one_group(p, 0.5), 0.1, 0.9, 0.99);
  set_grad(p, {3.0});
  opt.step();
  EXPECT_DOUBLE_EQ(p.item(), 2.0 * (1 - 0.1 * 0.5) - 0.1);
}

// The side effect docs/methods.md, "Lion", warns about (Su, kexue.fm/archives/9736): a row that
// got one gradient and then only zeros (a rare token's embedding row) keeps u = sign(β1 m) =
// sign(g) forever, so θ ← θ(1 − ηλ) − η sign(g) converges to the fixed point −sign(g)/λ:
//   θ_n = −s/λ + (θ_1 + s/λ)(1 − ηλ)^(n−1)       after the first step θ_1.
// A zero-gradient element (s = 0) only decays. AdamW's normalised step dies out instead
// (m̂/√v̂ shrinks by β1/√β2 per step), so the same row stays near its start.
TEST(LionRule, RowWithStaleMomentumDriftsToMinusSignOverLambda) {
  const double lr = 0.01, wd = 0.5;
  const std::vector<double> p0 = {0.3, -0.2, 0.05, 0.1}, g = {1.0, -2.0, 0.5, 0.0};
  Tensor p = f64(p0);
  Lion opt(one_group(p, wd), lr, 0.9, 0.99);
  set_grad(p, g);
  opt.step();
  const std::vector<double> p1 = p.to_vector<double>();
  const int n = 2000;
  for (int s = 2; s <= n; ++s) {
    set_grad(p, {0.0, 0.0, 0.0, 0.0});
    opt.step();
  }
  const auto v = p.to_vector<double>();
  const double keep = std::pow(1 - lr * wd, n - 1);  // e^-10
  for (size_t i = 0; i < g.size(); ++i) {
    const double s = g[i] > 0 ? 1.0 : g[i] < 0 ? -1.0 : 0.0;
    EXPECT_NEAR(v[i], -s / wd + (p1[i] + s / wd) * keep, 1e-12) << i;
  }
  EXPECT_NEAR(v[0], -1 / wd, 1e-3);  // = -2: the fixed point -sign(g)/λ
  EXPECT_NEAR(v[1], 1 / wd, 1e-3);

  Tensor q = f64(p0);
  AdamW adamw(one_group(q, wd), lr, 0.9, 0.99, 1e-8);
  set_grad(q, g);
  adamw.step();
  for (int s = 2; s <= n; ++s) {
    set_grad(q, {0.0, 0.0, 0.0, 0.0});
    adamw.step();
  }
  for (double x : q.to_vector<double>()) EXPECT_LT(std::abs(x), 0.05 / wd);
}

TEST(SgdRule, PlainMomentumAndNesterov) {
  const double lr = 0.1, mu = 0.9, wd = 0.01;
  const double g1 = 0.5, g2 = -0.2;
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "momentum");
    Tensor p = f64({1.0});
    Sgd opt(one_group(p, wd), lr, mu, nesterov);
    set_grad(p, {g1});
    opt.step();
    double th = 1.0;
    double d = g1 + wd * th, buf = d;  // first step: buf = d
    th -= lr * (nesterov ? d + mu * buf : buf);
    EXPECT_NEAR(p.item(), th, 1e-15);
    set_grad(p, {g2});
    opt.step();
    d = g2 + wd * th;
    buf = mu * buf + d;
    th -= lr * (nesterov ? d + mu * buf : buf);
    EXPECT_NEAR(p.item(), th, 1e-15);
  }
  Tensor q = f64({1.0});
  Sgd plain(one_group(q, 0.0), 0.5);
  set_grad(q, {0.25});
  plain.step();
  plain.step();  // the gradient is still there: two identical steps
  EXPECT_EQ(q.item(), 0.75);
}

// Tensors above kParallelGrain run on all threads; the result must equal a scalar transcription.
TEST(FusedKernels, ParallelPathMatchesScalarReference) {
  kernels::set_num_threads(2);
  const int64_t n = kernels::kParallelGrain + 1001;
  Rng rng(5);
  Tensor init = Tensor::randn({n}, rng, 1.0, DType::F64);
  Tensor grad = Tensor::randn({n}, rng, 1.0, DType::F64);
  const auto p0 = init.to_vector<double>(), g = grad.to_vector<double>();
  const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8;

  Tensor pa = init.clone().set_requires_grad(true);
  AdamW adamw({{{{"p", pa}}, wd, 1.0}}, lr, b1, b2, eps);
  Tensor pl = init.clone().set_requires_grad(true);
  Lion lion({{{{"p", pl}}, wd, 1.0}}, lr, b1, b2);
  Tensor ps = init.clone().set_requires_grad(true);
  Sgd sgd({{{{"p", ps}}, wd, 1.0}}, lr, 0.9, true);
  for (int s = 0; s < 2; ++s) {
    pa.set_grad(grad);
    adamw.step();
    pl.set_grad(grad);
    lion.step();
    ps.set_grad(grad);
    sgd.step();
  }
  const auto va = pa.to_vector<double>(), vl = pl.to_vector<double>(), vs = ps.to_vector<double>();
  for (int64_t i = 0; i < n; i += 997) {
    double th = p0[i], m = 0, v = 0;
    double thl = p0[i], ml = 0;
    double ths = p0[i], buf = 0;
    for (int t = 1; t <= 2; ++t) {
      th *= 1 - lr * wd;
      m = b1 * m + (1 - b1) * g[i];
      v = b2 * v + (1 - b2) * g[i] * g[i];
      th -= lr * (m / (1 - std::pow(b1, t))) / (std::sqrt(v / (1 - std::pow(b2, t))) + eps);
      const double c = b1 * ml + (1 - b1) * g[i];
      thl = thl * (1 - lr * wd) - lr * ((c > 0) - (c < 0));
      ml = b2 * ml + (1 - b2) * g[i];
      const double d = g[i] + wd * ths;
      buf = t == 1 ? d : 0.9 * buf + d;
      ths -= lr * (d + 0.9 * buf);
    }
    EXPECT_NEAR(va[i], th, 1e-13) << i;
    EXPECT_NEAR(vl[i], thl, 1e-13) << i;
    EXPECT_NEAR(vs[i], ths, 1e-13) << i;
  }
}

}  // namespace
}  // namespace tlm::optim
