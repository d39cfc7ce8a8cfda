// The fused ops used by nn/ (layer_norm, rms_norm, rope, causal_softmax): float64 gradient
// checks, and agreement with the same maths composed from core ops.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/rope.h"
#include "tests/common/gradcheck.h"

namespace tlm {
namespace {

using testing::In;
using testing::randn64;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// ---- norms -------------------------------------------------------------------------------

Tensor layer_norm_composed(const Tensor& x, const Tensor& g, const Tensor& b, double eps) {
  Tensor mu = mean(x, -1, true);
  Tensor c = sub(x, mu);
  Tensor var = mean(square(c), -1, true);
  Tensor y = mul(c, rsqrt(add(var, eps)));
  if (g.defined()) y = mul(y, g);
  if (b.defined()) y = add(y, b);
  return y;
}

Tensor rms_norm_composed(const Tensor& x, const Tensor& g, double eps) {
  Tensor y = mul(x, rsqrt(add(mean(square(x), -1, true), eps)));
  return g.defined() ? mul(y, g) : y;
}

TEST(FusedNorm, LayerNormGradcheckWithAndWithoutAffine) {
  auto x = randn64({2, 3, 5}, 1, 2.0);
  auto g = randn64({5}, 2), b = randn64({5}, 3);
  EXPECT_GRADCHECK([](In v) { return layer_norm(v[0], v[1], v[2], 1e-5); }, {x, g, b});
  EXPECT_GRADCHECK([](In v) { return layer_norm(v[0], v[1], Tensor(), 1e-5); }, {x, g});
  EXPECT_GRADCHECK([](In v) { return layer_norm(v[0], Tensor(), Tensor(), 1e-5); }, {x});
  // Size-1 leading dims, and a non-contiguous (transposed) input.
  EXPECT_GRADCHECK([](In v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                   {randn64({1, 1, 5}, 4), g, b});
  EXPECT_GRADCHECK([](In v) { return layer_norm(transpose(v[0], 0, 1), v[1], v[2], 1e-5); },
                   {randn64({5, 4}, 5), randn64({5}, 6), randn64({5}, 7)});
  // Rows of one element: xhat = 0, y = beta; dx = 0 (eps keeps it finite).
  EXPECT_GRADCHECK([](In v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                   {randn64({3, 1}, 8), randn64({1}, 9), randn64({1}, 10)});
}

TEST(FusedNorm, RMSNormGradcheckWithAndWithoutGain) {
  auto x = randn64({2, 3, 6}, 11);
  EXPECT_GRADCHECK([](In v) { return rms_norm(v[0], v[1], 1e-6); }, {x, randn64({6}, 12)});
  EXPECT_GRADCHECK([](In v) { return rms_norm(v[0], Tensor(), 1e-6); }, {x});
  EXPECT_GRADCHECK([](In v) { return rms_norm(v[0], v[1], 1e-6); },
                   {randn64({4, 1}, 13), randn64({1}, 14)});
  EXPECT_GRADCHECK([](In v) { return rms_norm(narrow(v[0], 1, 1, 3), v[1], 1e-6); },
                   {randn64({4, 5}, 15), randn64({3}, 16)});
}

TEST(FusedNorm, MatchesTheCompositionOfCoreOpsInFloat64) {
  // The second shape is large enough for the threaded kernels (a row width that is not a
  // multiple of the 16-float padding of each thread's scratch).
  for (const Shape& shape : {Shape{3, 4, 7}, Shape{64, 9, 70}})
  for (double eps : {1e-5, 1e-2}) {
    const int64_t d = shape.back();
    auto x = randn64(shape, 21, 3.0), g = randn64({d}, 22), b = randn64({d}, 23);
    auto gy = randn64(shape, 24);
    // Values and all three gradients, fused vs composed.
    auto run = [&](bool fused, bool rms) {
      Tensor xl = x.detach().clone().set_requires_grad(true);
      Tensor gl = g.detach().clone().set_requires_grad(true);
      Tensor bl = b.detach().clone().set_requires_grad(true);
      Tensor y = rms ? (fused ? rms_norm(xl, gl, eps) : rms_norm_composed(xl, gl, eps))
                     : (fused ? layer_norm(xl, gl, bl, eps) : layer_norm_composed(xl, gl, bl, eps));
      sum(mul(y, gy)).backward();
      return std::vector<Tensor>{y, xl.grad(), gl.grad(), rms ? Tensor() : bl.grad()};
    };
    for (bool rms : {false, true}) {
      auto f = run(true, rms), c = run(false, rms);
      for (size_t i = 0; i < f.size(); ++i) {
        if (!c[i].defined()) continue;
        EXPECT_LT(max_abs_diff(f[i], c[i]), 1e-12) << (rms ? "rms" : "ln") << " output " << i;
      }
    }
  }
}

TEST(FusedNorm, Float32StaysAccurateForLargeOffsets) {
  // Mean 1000, std 1: a one-pass E[x^2] - E[x]^2 would lose every digit in float32.
  Rng rng(31);
  Tensor x = add(Tensor::randn({4, 64}, rng), 1000.0);
  Tensor y = layer_norm(x, Tensor(), Tensor(), 1e-5);
  Tensor ref = layer_norm_composed(x.to(DType::F64), Tensor(), Tensor(), 1e-5);
  EXPECT_LT(max_abs_diff(y, ref), 2e-3);
}

TEST(FusedNorm, ShapeErrorsNameTheOp) {
  try {
    layer_norm(Tensor::zeros({2, 4}), Tensor::ones({3}), Tensor(), 1e-5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer_norm: [2,4] x [3]"), std::string::npos) << e.what();
  }
}

// ---- rope --------------------------------------------------------------------------------

TEST(Rope, GradcheckWithOffsetsAndStridedInput) {
  RopeTables tab = rope_tables(16, 6, 10000, DType::F64);
  EXPECT_GRADCHECK([&](In v) { return rope(v[0], tab); }, {randn64({2, 3, 5, 6}, 41)});
  EXPECT_GRADCHECK([&](In v) { return rope(v[0], tab, 7); }, {randn64({1, 4, 6}, 42)});
  // A permuted view [B,T,H,D] -> [B,H,T,D], as attention passes it.
  EXPECT_GRADCHECK([&](In v) { return rope(permute(v[0], {0, 2, 1, 3}), tab, 3); },
                   {randn64({2, 5, 3, 6}, 43)});
}

TEST(Rope, MatchesTheElementwiseFormula) {
  // q' = q * cos + rot(q) * sin, rot(q) = (-q1, q0, -q3, q2, ...), theta_i = b^(-2i/D).
  const int64_t T = 5, D = 8, off = 3;
  const double base = 500;
  Tensor q = randn64({T, D}, 51);
  Tensor y = rope(q, rope_tables(T + off, D, base, DType::F64), off);
  auto qv = q.to_vector<double>(), yv = y.to_vector<double>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < D / 2; ++i) {
      double a = (t + off) * std::pow(base, -2.0 * i / D);
      double q0 = qv[t * D + 2 * i], q1 = qv[t * D + 2 * i + 1];
      EXPECT_NEAR(yv[t * D + 2 * i], q0 * std::cos(a) - q1 * std::sin(a), 1e-14);
      EXPECT_NEAR(yv[t * D + 2 * i + 1], q1 * std::cos(a) + q0 * std::sin(a), 1e-14);
    }
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  const int64_t D = 16;
  RopeTables tab = rope_tables(64, D, 10000, DType::F64);
  Tensor q = randn64({1, D}, 61), k = randn64({1, D}, 62);
  auto dot_at = [&](int64_t m, int64_t n) {
    return sum(mul(rope(q, tab, m), rope(k, tab, n))).item();
  };
  for (int64_t delta : {0, 1, 5, 17}) {
    const double ref = dot_at(0, delta);
    for (int64_t m : {1, 9, 30}) EXPECT_NEAR(dot_at(m, m + delta), ref, 1e-12) << delta << " " << m;
  }
  EXPECT_GT(std::abs(dot_at(0, 1) - dot_at(0, 5)), 1e-3);  // and it does depend on n - m
}

TEST(Rope, Float32TablesAreAccurateAtLargePositions) {
  RopeTables t32 = rope_tables(5000, 8, 10000, DType::F32);
  RopeTables t64 = rope_tables(5000, 8, 10000, DType::F64);
  EXPECT_LT(max_abs_diff(t32.cos, t64.cos), 1e-7);
  EXPECT_LT(max_abs_diff(t32.sin, t64.sin), 1e-7);
}

// ---- causal softmax ----------------------------------------------------------------------

// softmax(masked_fill(scale * x, j > offset + i or j <= offset + i - window, -inf))
Tensor causal_softmax_composed(const Tensor& x, double scale, int64_t offset, int64_t window) {
  const int64_t Tq = x.size(-2), Tk = x.size(-1);
  std::vector<int32_t> m(static_cast<size_t>(Tq * Tk));
  for (int64_t i = 0; i < Tq; ++i)
    for (int64_t j = 0; j < Tk; ++j)
      m[i * Tk + j] = j > offset + i || (window > 0 && j <= offset + i - window);
  Tensor mask = Tensor::from_vector(m, {Tq, Tk});
  return softmax(masked_fill(mul(x, scale), mask, -INFINITY), -1);
}

TEST(CausalSoftmax, MatchesMaskedFillSoftmaxValueAndGradient) {
  struct Case { Shape shape; double scale; int64_t offset, window; };
  for (const Case& c : {Case{{2, 3, 5, 5}, 0.5, 0, 0}, Case{{1, 2, 3, 7}, 1.3, 4, 0},
                        Case{{2, 1, 6, 6}, 0.7, 0, 2}, Case{{1, 1, 1, 9}, 1.0, 8, 3}}) {
    Tensor x = randn64(c.shape, 71, 2.0), gy = randn64(c.shape, 72);
    auto run = [&](bool fused) {
      Tensor xl = x.detach().clone().set_requires_grad(true);
      Tensor y = fused ? causal_softmax(xl, c.scale, c.offset, c.window)
                       : causal_softmax_composed(xl, c.scale, c.offset, c.window);
      sum(mul(y, gy)).backward();
      return std::pair<Tensor, Tensor>{y, xl.grad()};
    };
    auto [yf, gf] = run(true);
    auto [yc, gc] = run(false);
    EXPECT_LT(max_abs_diff(yf, yc), 1e-14) << shape_str(c.shape);
    EXPECT_LT(max_abs_diff(gf, gc), 1e-14) << shape_str(c.shape);
  }
}

TEST(CausalSoftmax, Gradcheck) {
  EXPECT_GRADCHECK([](In v) { return causal_softmax(v[0], 0.8); }, {randn64({2, 2, 4, 4}, 81)});
  EXPECT_GRADCHECK([](In v) { return causal_softmax(v[0], 1.1, 3); }, {randn64({2, 2, 4, 7}, 82)});
  EXPECT_GRADCHECK([](In v) { return causal_softmax(v[0], 0.5, 1, 2); }, {randn64({1, 3, 5}, 83)});
  EXPECT_GRADCHECK([](In v) { return causal_softmax(transpose(v[0]), 0.9); }, {randn64({3, 4, 4}, 84)});
}

}  // namespace
}  // namespace tlm
