// The tiled attention kernel (autograd/ops/flash_attention.h) against the same maths composed
// from matmul and causal_softmax, in float64, across tile boundaries, with a KV-cache offset,
// sliding windows, per-row (log-n) scales, strided inputs and Dv != Dk; a float64 gradient
// check; float32 against float64; and memory that grows linearly with the context.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/flash_attention.h"
#include "tensor/kernels/flash_attention.h"
#include "tensor/storage.h"

namespace tlm {
namespace {

Tensor randn(const Shape& s, uint64_t seed, DType dtype = DType::F64, double std = 1.0) {
  Rng rng(seed);
  return Tensor::randn(s, rng, std, dtype);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// matmul(causal_softmax(c_i * q k^T), v): the plain path.
Tensor attention_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                          const std::vector<double>& c, int64_t offset, int64_t window) {
  Tensor col = Tensor::from_vector(c, {static_cast<int64_t>(c.size()), 1}).to(q.dtype());
  Tensor s = mul(matmul(q, transpose(k, -2, -1)), col);
  return matmul(causal_softmax(s, 1.0, offset, window), v);
}

std::vector<double> scales(int64_t rows, bool vary) {
  std::vector<double> c(static_cast<size_t>(rows), 0.35);
  if (vary)
    for (int64_t i = 0; i < rows; ++i) c[static_cast<size_t>(i)] = 0.2 + 0.01 * static_cast<double>(i % 37);
  return c;
}

// q, k, v as [B,H,T,D] views of [B,T,H,D] buffers, the layout attention produces.
Tensor heads_view(const Shape& bthd, uint64_t seed, DType dtype) {
  return permute(randn(bthd, seed, dtype), {0, 2, 1, 3});
}

struct Case {
  int64_t B, H, Tq, offset, Dk, Dv, window;
  bool vary_scale;
};

// A case's float64 inputs: q, k, v in the attention layout, an upstream gradient, row scales.
struct CaseInputs {
  Tensor q, k, v, gy;
  std::vector<double> rs;
};
CaseInputs inputs_for(const Case& c, uint64_t seed) {
  const int64_t Tk = c.offset + c.Tq;
  return {heads_view({c.B, c.Tq, c.H, c.Dk}, seed, DType::F64),
          heads_view({c.B, Tk, c.H, c.Dk}, seed + 1, DType::F64),
          heads_view({c.B, Tk, c.H, c.Dv}, seed + 2, DType::F64),
          randn({c.B, c.H, c.Tq, c.Dv}, seed + 3), scales(c.Tq, c.vary_scale)};
}

TEST(FlashAttention, MatchesComposedValueAndGradients) {
  for (const Case& c : {Case{2, 3, 5, 0, 4, 4, 0, false}, Case{1, 2, 150, 0, 8, 8, 0, false},
                        Case{2, 1, 130, 0, 6, 10, 0, true}, Case{1, 2, 70, 0, 4, 4, 5, false},
                        Case{1, 1, 200, 0, 4, 4, 90, true}, Case{2, 2, 3, 130, 8, 8, 0, false},
                        Case{1, 1, 67, 70, 4, 6, 64, true}}) {
    const auto [q, k, v, gy, rs] = inputs_for(c, 1);
    auto run = [&](bool fused) {
      Tensor ql = q.detach().set_requires_grad(true), kl = k.detach().set_requires_grad(true),
             vl = v.detach().set_requires_grad(true);
      Tensor y = fused ? flash_attention(ql, kl, vl, rs, c.offset, c.window)
                       : attention_composed(ql, kl, vl, rs, c.offset, c.window);
      sum(mul(y, gy)).backward();
      return std::vector<Tensor>{y, ql.grad(), kl.grad(), vl.grad()};
    };
    std::vector<Tensor> f = run(true), p = run(false);
    const char* what[] = {"output", "dq", "dk", "dv"};
    for (int i = 0; i < 4; ++i)
      EXPECT_LT(max_abs_diff(f[i], p[i]), 1e-12)
          << what[i] << " B" << c.B << " H" << c.H << " Tq" << c.Tq << " offset" << c.offset
          << " window" << c.window;
  }
}

// Short contexts keep the forward's probabilities and the backward reads them instead of
// recomputing q k^T and its exponentials: both backward paths must agree, with a window and
// a scale per row, at one full tile (64) and below; longer contexts keep none.
TEST(FlashAttention, KeptProbabilitiesGiveTheRecomputedGradients) {
  for (const Case& c : {Case{2, 3, 64, 0, 8, 8, 0, true}, Case{1, 2, 37, 0, 4, 6, 9, false},
                        Case{1, 1, 5, 0, 3, 3, 0, false}}) {
    Tensor q = heads_view({c.B, c.Tq, c.H, c.Dk}, 41, DType::F64);
    Tensor k = heads_view({c.B, c.Tq, c.H, c.Dk}, 42, DType::F64);
    Tensor v = heads_view({c.B, c.Tq, c.H, c.Dv}, 43, DType::F64);
    Tensor gy = randn({c.B, c.H, c.Tq, c.Dv}, 44);
    const std::vector<double> rs = scales(c.Tq, c.vary_scale);
    kernels::FlashAttentionResult kept = kernels::flash_attention(q, k, v, rs, 0, c.window, true);
    kernels::FlashAttentionResult plain = kernels::flash_attention(q, k, v, rs, 0, c.window, false);
    ASSERT_TRUE(kept.probs.defined());
    ASSERT_FALSE(plain.probs.defined());
    EXPECT_EQ(max_abs_diff(kept.out, plain.out), 0.0) << "keeping P must not change the output";
    // P is the softmax itself: rows sum to 1, masked (future, out-of-window) entries are 0.
    auto pv = kept.probs.to_vector<double>();
    for (int64_t row = 0; row < c.B * c.H * c.Tq; ++row) {
      const int64_t i = row % c.Tq;
      double total = 0;
      for (int64_t j = 0; j < c.Tq; ++j) {
        const double pij = pv[static_cast<size_t>(row * c.Tq + j)];
        if (j > i || (c.window > 0 && j <= i - c.window)) {
          EXPECT_EQ(pij, 0.0) << i << "," << j;
        }
        total += pij;
      }
      EXPECT_NEAR(total, 1.0, 1e-12) << "row " << i;
    }
    kernels::FlashAttentionGrads a = kernels::flash_attention_backward(
        gy, q, k, v, kept.out, kept.lse, rs, 0, c.window, kept.probs);
    kernels::FlashAttentionGrads b =
        kernels::flash_attention_backward(gy, q, k, v, plain.out, plain.lse, rs, 0, c.window);
    EXPECT_LT(max_abs_diff(a.dq, b.dq), 1e-12) << "Tq " << c.Tq;
    EXPECT_LT(max_abs_diff(a.dk, b.dk), 1e-12) << "Tq " << c.Tq;
    EXPECT_LT(max_abs_diff(a.dv, b.dv), 1e-12) << "Tq " << c.Tq;
  }
  Tensor q = heads_view({1, 65, 1, 4}, 45, DType::F64);
  EXPECT_FALSE(kernels::flash_attention(q, q, q, scales(65, false), 0, 0, true).probs.defined())
      << "65 keys span two tiles: nothing is kept";
}

TEST(FlashAttention, Gradcheck) {
  using In = const std::vector<Tensor>&;
  for (const Case& c : {Case{1, 2, 6, 0, 3, 4, 0, true}, Case{1, 1, 5, 3, 2, 2, 3, false},
                        Case{1, 1, 70, 0, 2, 2, 66, true}}) {
    const int64_t Tk = c.offset + c.Tq;
    const std::vector<double> rs = scales(c.Tq, c.vary_scale);
    auto r = gradcheck(
        [&](In x) { return flash_attention(x[0], x[1], x[2], rs, c.offset, c.window); },
        {randn({c.B, c.H, c.Tq, c.Dk}, 11), randn({c.B, c.H, Tk, c.Dk}, 12),
         randn({c.B, c.H, Tk, c.Dv}, 13)});
    EXPECT_TRUE(r.ok) << "Tq " << c.Tq << ": " << r.message;
  }
}

TEST(FlashAttention, Float32MatchesFloat64) {
  const std::vector<double> rs = scales(100, true);
  Tensor q = heads_view({2, 100, 2, 16}, 21, DType::F64), k = heads_view({2, 100, 2, 16}, 22, DType::F64),
         v = heads_view({2, 100, 2, 16}, 23, DType::F64);
  Tensor y64 = flash_attention(q, k, v, rs);
  Tensor y32 = flash_attention(q.to(DType::F32), k.to(DType::F32), v.to(DType::F32), rs);
  EXPECT_EQ(y32.dtype(), DType::F32);
  EXPECT_LT(max_abs_diff(y32, y64), 2e-6);
}

// The float32 kernel, forward and backward, against the float64 one: on the model shapes
// (head size 32 and 64 at 64 and 256 positions), a head size that is not a multiple of 16,
// Dv != Dk, windows, a KV-cache offset, per-row scales, with and without the kept
// probabilities.
TEST(FlashAttention, Float32ForwardAndBackwardMatchFloat64) {
  for (const Case& c : {Case{3, 4, 64, 0, 32, 32, 0, false}, Case{2, 2, 256, 0, 64, 64, 0, false},
                        Case{1, 3, 50, 0, 20, 12, 0, true}, Case{2, 1, 130, 0, 16, 40, 0, true},
                        Case{1, 2, 100, 0, 32, 32, 37, false}, Case{1, 1, 200, 0, 8, 8, 90, true},
                        Case{2, 2, 3, 130, 32, 32, 0, false}, Case{1, 2, 67, 70, 24, 16, 64, true},
                        Case{2, 3, 37, 0, 32, 48, 9, false}}) {
    const int64_t Tk = c.offset + c.Tq;
    const auto [q, k, v, gy, rs] = inputs_for(c, 51);
    for (bool keep : {false, true}) {
      if (keep && (c.offset > 0 || !kernels::flash_keeps_probs(Tk))) continue;
      auto run = [&](DType dt) {
        Tensor q2 = q.to(dt), k2 = k.to(dt), v2 = v.to(dt), g2 = gy.to(dt);
        kernels::FlashAttentionResult r = kernels::flash_attention(q2, k2, v2, rs, c.offset, c.window, keep);
        kernels::FlashAttentionGrads d = kernels::flash_attention_backward(
            g2, q2, k2, v2, r.out, r.lse, rs, c.offset, c.window, r.probs);
        return std::vector<Tensor>{r.out, r.lse, d.dq, d.dk, d.dv};
      };
      std::vector<Tensor> f32 = run(DType::F32), f64 = run(DType::F64);
      const char* what[] = {"output", "lse", "dq", "dk", "dv"};
      for (int i = 0; i < 5; ++i)
        EXPECT_LT(max_abs_diff(f32[i], f64[i]), 5e-5)
            << what[i] << " B" << c.B << " H" << c.H << " Tq" << c.Tq << " offset" << c.offset
            << " D" << c.Dk << "/" << c.Dv << " window" << c.window << " keep" << keep;
    }
  }
}

TEST(FlashAttention, RefusesMismatchedShapes) {
  Tensor q = randn({1, 2, 4, 8}, 1), k = randn({1, 2, 5, 8}, 2), v = randn({1, 2, 5, 8}, 3);
  try {
    flash_attention(q, k, v, scales(4, false));
    FAIL() << "k with 5 keys for 4 queries and offset 0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k [1,2,5,8]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("q [1,2,4,8]"), std::string::npos) << e.what();
  }
}

// Peak memory of forward + backward at context T: linear in T (the composed path stores
// [T, T] scores and probabilities, so doubling T quadruples its peak).
int64_t attention_peak_bytes(int64_t T, bool fused) {
  const std::vector<double> rs = scales(T, false);
  Tensor q = randn({1, 2, T, 16}, 31, DType::F32).set_requires_grad(true);
  Tensor k = randn({1, 2, T, 16}, 32, DType::F32).set_requires_grad(true);
  Tensor v = randn({1, 2, T, 16}, 33, DType::F32).set_requires_grad(true);
  reset_peak_memory();
  const int64_t base = memory_stats().current_bytes;
  Tensor y = fused ? flash_attention(q, k, v, rs) : attention_composed(q, k, v, rs, 0, 0);
  sum(y).backward();
  return memory_stats().peak_bytes - base;
}

TEST(FlashAttention, MemoryGrowsLinearlyWithContext) {
  const double f1 = static_cast<double>(attention_peak_bytes(512, true));
  const double f2 = static_cast<double>(attention_peak_bytes(1024, true));
  const double c1 = static_cast<double>(attention_peak_bytes(512, false));
  const double c2 = static_cast<double>(attention_peak_bytes(1024, false));
  EXPECT_LT(f2, 2.2 * f1) << f1 << " B at T=512, " << f2 << " B at T=1024";
  EXPECT_GT(c2, 3.5 * c1) << "the composed path should be quadratic: " << c1 << " vs " << c2;
  EXPECT_LT(f2, 0.1 * c2) << "fused " << f2 << " B vs composed " << c2 << " B at T=1024";
}

}  // namespace
}  // namespace tlm
