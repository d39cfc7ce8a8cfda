// The mixed precision policy at the op level (autograd/precision.h; docs/methods.md, "bf16 and
// fp16"): matmul on rounded inputs bit for bit against sgemm of inputs rounded by the scalar
// conversions, the backward rounding, 16-bit saved tensors (memory, sharing, in-place checks),
// fp16 underflow that loss scaling repairs, and fp32 untouched.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/loss_cross_entropy.h"
#include "autograd/ops/norm.h"
#include "autograd/precision.h"
#include "tensor/half.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/norm.h"
#include "tensor/view.h"
#include "tests/common/expect_error.h"

namespace tlm {
namespace {

// x rounded element by element with the scalar conversions (independent of the array code).
Tensor round_ref(const Tensor& x, Precision p) {
  std::vector<float> v = x.to_vector<float>();
  for (float& f : v)
    f = p == Precision::F16 ? fp16_to_float(float_to_fp16(f)) : bf16_to_float(float_to_bf16(f));
  return Tensor::from_vector(v, x.shape());
}

void expect_bits_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  for (size_t i = 0; i < va.size(); ++i) ASSERT_EQ(float_bits(va[i]), float_bits(vb[i])) << "i=" << i;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::fabs(double(va[i]) - vb[i]));
  return m;
}

TEST(Precision, ParseNamesTheKeyAndTheAllowedValues) {
  EXPECT_EQ(parse_precision("fp32"), Precision::F32);
  EXPECT_EQ(parse_precision("bf16"), Precision::BF16);
  EXPECT_EQ(parse_precision("fp16"), Precision::F16);
  EXPECT_TLM_ERROR(parse_precision("fp8"), "precision = fp8");
  EXPECT_TLM_ERROR(parse_precision("half"), "allowed: fp32, bf16, fp16");
}

TEST(Precision, GuardsNestAndRestore) {
  EXPECT_EQ(current_precision(), Precision::F32);
  {
    PrecisionGuard a(Precision::F16);
    EXPECT_EQ(current_precision(), Precision::F16);
    {
      PrecisionGuard b(Precision::F32);
      EXPECT_EQ(current_precision(), Precision::F32);
      EXPECT_EQ(current_precision_guard(), &b);
    }
    EXPECT_EQ(current_precision(), Precision::F16);
  }
  EXPECT_EQ(current_precision(), Precision::F32);
  EXPECT_EQ(current_precision_guard(), nullptr);
}

// Forward: the product of the rounded inputs (fp32 accumulation), bit for bit; backward:
// every gradient is the product of rounded operands, itself rounded. The product is sgemm,
// or under bf16 the AVX-512 BF16 kernel when the CPU has one (GemmInputs::BF16 picks it).
TEST(Precision, MatmulRoundsInputsAndGradientsBitForBit) {
  for (Precision p : {Precision::BF16, Precision::F16}) {
    const auto in = p == Precision::BF16 ? kernels::GemmInputs::BF16 : kernels::GemmInputs::F32;
    Rng rng(3);
    Tensor a = Tensor::randn({2, 5, 7}, rng).set_requires_grad(true);
    Tensor w = Tensor::randn({6, 7}, rng, 0.3).set_requires_grad(true);  // a Linear weight
    Tensor g = Tensor::randn({2, 5, 6}, rng, 1e-3);
    Tensor y;
    {
      PrecisionGuard amp(p);
      y = matmul(a, transpose(w, 0, 1));
      y.backward(g);
    }
    Tensor ar = round_ref(a, p), wr = round_ref(w, p), gr = round_ref(g, p);
    Tensor want_y = kernels::matmul(reshape(ar, {10, 7}), views::transpose(wr, 0, 1), in);
    expect_bits_equal(reshape(y.detach(), {10, 6}), want_y);
    Tensor want_ga = reshape(round_ref(kernels::matmul(reshape(gr, {10, 6}), wr, in), p), {2, 5, 7});
    Tensor want_gw = round_ref(kernels::matmul(views::transpose(reshape(gr, {10, 6}), 0, 1),
                                               reshape(ar, {10, 7}), in), p);
    expect_bits_equal(a.grad(), want_ga);
    expect_bits_equal(w.grad(), want_gw);
    // and it differs from fp32 by about the format's epsilon, no more
    Tensor y32 = kernels::matmul(reshape(a.detach(), {10, 7}), views::transpose(w.detach(), 0, 1));
    const double eps = p == Precision::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
    const double d = max_abs_diff(reshape(y.detach(), {10, 6}), y32), scale = max_abs_diff(y32, Tensor::zeros(y32.shape()));
    EXPECT_GT(d, 0.0);
    EXPECT_LT(d, 4 * eps * scale * 7);
  }
}

// Under bf16 on a CPU with AVX-512 BF16, forward and backward products run on the bf16
// kernel. The forward is bit for bit the kernel's product of the rounded operands, within
// fp32 summation error of sgemm's, and (with 300-term sums, where the order of the fp32
// additions shows) not sgemm's bits: the fast path is really taken. The gradients equal the
// kernel's products rounded to bf16 (that rounding hides the order of the sums there).
TEST(Precision, Bf16MatmulRunsOnTheBf16KernelWhenTheCpuHasIt) {
  if (!kernels::bf16_gemm_supported()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  Rng rng(8);
  Tensor a = Tensor::randn({3, 10, 300}, rng).set_requires_grad(true);
  Tensor w = Tensor::randn({40, 300}, rng, 0.3).set_requires_grad(true);
  Tensor g = Tensor::randn({3, 10, 40}, rng);
  Tensor y;
  {
    PrecisionGuard amp(Precision::BF16);
    y = matmul(a, transpose(w, 0, 1));
    y.backward(g);
  }
  const Precision p = Precision::BF16;
  Tensor ar = reshape(round_ref(a, p), {30, 300}), wr = round_ref(w, p),
         gr = reshape(round_ref(g, p), {30, 40});
  const auto bf16 = kernels::GemmInputs::BF16;
  Tensor y_kernel = kernels::matmul(ar, views::transpose(wr, 0, 1), bf16);
  Tensor y_sgemm = kernels::matmul(ar, views::transpose(wr, 0, 1));
  expect_bits_equal(reshape(y.detach(), {30, 40}), y_kernel);
  expect_bits_equal(reshape(a.grad(), {30, 300}), round_ref(kernels::matmul(gr, wr, bf16), p));
  expect_bits_equal(w.grad(),
                    round_ref(kernels::matmul(views::transpose(gr, 0, 1), ar, bf16), p));
  EXPECT_LT(max_abs_diff(y_kernel, y_sgemm), 1e-4);
  EXPECT_GT(max_abs_diff(y_kernel, y_sgemm), 0.0) << "the bf16 kernel was not used";
}

// On the bf16 kernel the operands are not rounded into copies (the kernel rounds them as it
// packs them), but the guard's statistics are what rounding them would count: two values past
// bf16's largest finite overflow in forward; in backward every entry of dC, dA and dB is
// counted once, and the one dC entry below bf16's smallest subnormal underflows.
TEST(Precision, Bf16KernelPathCountsWhatRoundingWould) {
  if (!kernels::bf16_gemm_supported()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  Rng rng(9);
  {
    std::vector<float> av = Tensor::randn({3, 50}, rng).to_vector<float>();
    av[0] = 3.397e38f;    // above the midpoint of bf16's max (3.3895e38) and inf: rounds to inf
    av[51] = -3.397e38f;
    av[2] = 3.38e38f;     // below bf16's max: stays finite
    Tensor a = Tensor::from_vector(av, {3, 50}), b = Tensor::randn({50, 7}, rng);
    PrecisionGuard amp(Precision::BF16);
    Tensor y = matmul(a, b);
    EXPECT_EQ(amp.stats().overflow, 2);
    EXPECT_EQ(amp.stats().grad_values, 0);
  }
  Tensor a = Tensor::randn({6, 64}, rng).set_requires_grad(true);
  Tensor w = Tensor::randn({64, 20}, rng).set_requires_grad(true);
  std::vector<float> gv = Tensor::randn({6, 20}, rng).to_vector<float>();
  gv[0] = 3e-41f;  // below half of bf16's smallest subnormal (9.2e-41): rounds to 0
  gv[20] = 0.0f;
  gv[43] = 0.0f;
  Tensor g = Tensor::from_vector(gv, {6, 20});
  PrecisionGuard amp(Precision::BF16);
  matmul(a, w).backward(g);
  auto nonzero = [](const Tensor& t) {
    int64_t n = 0;
    for (float v : t.to_vector<float>()) n += v != 0.0f;
    return n;
  };
  EXPECT_EQ(amp.stats().grad_values, 6 * 20 + 6 * 64 + 64 * 20);
  // dC: 120 entries, two zeros (the tiny one counts: it is non-zero before rounding)
  EXPECT_EQ(amp.stats().grad_nonzero, 118 + nonzero(a.grad()) + nonzero(w.grad()));
  EXPECT_EQ(amp.stats().grad_underflow, 1);
  EXPECT_EQ(amp.stats().overflow, 0);
}

TEST(Precision, Fp32GuardAndNoGuardAreIdentical) {
  Rng rng(4);
  Tensor a = Tensor::randn({4, 9}, rng).set_requires_grad(true);
  Tensor b = Tensor::randn({9, 3}, rng).set_requires_grad(true);
  Tensor y0 = matmul(a, b);
  sum(mul(y0, y0)).backward();
  Tensor ga0 = a.grad().clone(), gb0 = b.grad().clone();
  a.zero_grad();
  b.zero_grad();
  PrecisionGuard fp32(Precision::F32);
  Tensor y1 = matmul(a, b);
  sum(mul(y1, y1)).backward();
  expect_bits_equal(y0.detach(), y1.detach());
  expect_bits_equal(ga0, a.grad());
  expect_bits_equal(gb0, b.grad());
  EXPECT_EQ(fp32.stats().grad_values, 0);
}

// Saved tensors are 16-bit under the policy: an op chain's saved bytes halve, and a tensor
// saved by several nodes is stored once.
TEST(Precision, SavedTensorsAreStoredIn16BitAndShared) {
  Rng rng(5);
  const int64_t n = 1 << 16;  // 256 KiB in fp32
  Tensor x = Tensor::randn({n}, rng).set_requires_grad(true);
  auto saved_bytes = [&](Precision p, Tensor* grad) {
    PrecisionGuard amp(p);
    const int64_t before = memory_stats().current_bytes;
    Tensor h = tanh(mul(x, 2.0));   // h is saved by tanh (as its output)...
    Tensor y = mul(h, h);           // ...and twice by mul
    Tensor z = exp(y);              // y by exp (and z, exp's output)
    Tensor loss = sum(z);
    h = Tensor();
    y = Tensor();
    z = Tensor();                   // only what the graph saved stays alive
    const int64_t bytes = memory_stats().current_bytes - before;
    loss.backward();
    *grad = x.grad().clone();
    x.zero_grad();
    return bytes;
  };
  Tensor g32, g16;
  const int64_t b32 = saved_bytes(Precision::F32, &g32);
  const int64_t b16 = saved_bytes(Precision::BF16, &g16);
  EXPECT_NEAR(static_cast<double>(b16) / static_cast<double>(b32), 0.5, 0.02)
      << b16 << " vs " << b32 << " bytes";
  // the gradient is computed from rounded saved values: close to fp32 at bf16's epsilon
  const double rel = max_abs_diff(g16, g32) / max_abs_diff(g32, Tensor::zeros(g32.shape()));
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(rel, 16 * std::ldexp(1.0, -8));
}

TEST(Precision, InPlaceWriteToAnOriginalSavedAs16BitIsRefused) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}).set_requires_grad(true);
  PrecisionGuard amp(Precision::F16);
  Tensor h = mul(x, 1.0);
  Tensor y = mul(h, h);  // saves h (as a 16-bit copy)
  h.fill_(5.0);          // the original changes: the copy would silently be stale
  EXPECT_TLM_ERROR(sum(y).backward(), "modified in place");
}

TEST(Precision, NormStatisticsAndLossesStayFp32) {
  // Norms and losses compute in fp32 under a 16-bit policy, so their outputs are bit-identical
  // to fp32. A norm saves its input rounded (Format::Policy) but its statistics (mean, rstd)
  // and gamma in fp32; a loss saves its logits in fp32. So each backward equals the fp32 kernel
  // run on exactly those saved values, bit for bit: a statistic or a loss input stored in 16
  // bits would change the gradient.
  Rng rng(6);
  const int64_t R = 4, C = 32;
  Tensor x = Tensor::randn({R, C}, rng).set_requires_grad(true);
  Tensor gamma = Tensor::randn({C}, rng).set_requires_grad(true);
  Tensor beta = Tensor::randn({C}, rng).set_requires_grad(true);
  Tensor g = Tensor::randn({R, C}, rng);  // the gradient arriving from above
  auto reset = [&] { x.zero_grad(), gamma.zero_grad(), beta.zero_grad(); };
  for (Precision p : {Precision::BF16, Precision::F16}) {
    SCOPED_TRACE(std::string(precision_name(p)));
    Tensor x_saved = round_ref(x.detach(), p);  // what the guard stores for backward
    {  // layer_norm: y = (x - mu) rstd gamma + beta
      Tensor mean, rstd, dx, dgamma, dbeta;
      Tensor y32 = kernels::layer_norm(x.detach(), gamma.detach(), beta.detach(), 1e-5, &mean, &rstd);
      kernels::layer_norm_backward(g, x_saved, gamma.detach(), mean, rstd, &dx, &dgamma, &dbeta);
      reset();
      {
        PrecisionGuard amp(p);
        Tensor y = layer_norm(x, gamma, beta, 1e-5);
        expect_bits_equal(y.detach(), y32);
        y.backward(g);
      }
      expect_bits_equal(x.grad(), dx);
      expect_bits_equal(gamma.grad(), dgamma);
      expect_bits_equal(beta.grad(), dbeta);
    }
    {  // rms_norm: y = x rstd gamma
      Tensor rstd, dx, dgamma;
      Tensor y32 = kernels::rms_norm(x.detach(), gamma.detach(), 1e-5, &rstd);
      kernels::rms_norm_backward(g, x_saved, gamma.detach(), rstd, &dx, &dgamma);
      reset();
      {
        PrecisionGuard amp(p);
        Tensor y = rms_norm(x, gamma, 1e-5);
        expect_bits_equal(y.detach(), y32);
        y.backward(g);
      }
      expect_bits_equal(x.grad(), dx);
      expect_bits_equal(gamma.grad(), dgamma);
    }
    {  // the fused cross-entropy (label smoothing 0.1) and log-sum-exp: fp32 in, fp32 saved
      Tensor targets = Tensor::from_vector(std::vector<int32_t>{3, 0, 31, 7}, {R});
      auto losses = [&] {
        return add(fused_cross_entropy(x, targets, 0.1, -100, kernels::LossReduction::Mean),
                   mean(logsumexp(x, -1)));
      };
      reset();
      Tensor l32 = losses();
      l32.backward();
      Tensor dx32 = x.grad().clone();
      reset();
      {
        PrecisionGuard amp(p);
        Tensor l = losses();
        expect_bits_equal(l.detach(), l32.detach());
        l.backward();
      }
      expect_bits_equal(x.grad(), dx32);
    }
  }
  // The reference above is not trivially equal: the rounded input changes a norm's gradient.
  Tensor mean, rstd, dx_exact, dx_rounded;
  kernels::layer_norm(x.detach(), gamma.detach(), Tensor(), 1e-5, &mean, &rstd);
  kernels::layer_norm_backward(g, x.detach(), gamma.detach(), mean, rstd, &dx_exact, nullptr, nullptr);
  kernels::layer_norm_backward(g, round_ref(x.detach(), Precision::BF16), gamma.detach(), mean, rstd,
                               &dx_rounded, nullptr, nullptr);
  EXPECT_GT(max_abs_diff(dx_exact, dx_rounded), 0.0);
}

// fp16 without loss scaling flushes gradients below 2^-25 to zero; a loss scale of 2^16
// lifts them into range and unscaling in fp32 recovers them.
TEST(Precision, Fp16UnderflowOfTinyGradientsIsFixedByLossScaling) {
  Rng rng(7);
  Tensor x = Tensor::randn({64, 16}, rng);
  Tensor w = Tensor::randn({16, 8}, rng, 0.5).set_requires_grad(true);
  const double tiny = 1e-9;  // the loss weight: dL/dy = 1e-9, below fp16's 2^-24 = 6e-8
  auto grad = [&](Precision p, double scale, PrecisionStats* stats) {
    w.zero_grad();
    PrecisionGuard amp(p);
    Tensor loss = mul(sum(matmul(x, w)), tiny);
    loss.backward(Tensor::full(loss.shape(), scale, loss.dtype()));
    if (stats) *stats = amp.stats();
    return mul(w.grad(), 1.0 / scale).detach();
  };
  Tensor g32 = grad(Precision::F32, 1.0, nullptr);
  PrecisionStats unscaled, scaled;
  Tensor g_plain = grad(Precision::F16, 1.0, &unscaled);
  Tensor g_scaled = grad(Precision::F16, 65536.0, &scaled);
  EXPECT_EQ(max_abs_diff(g_plain, Tensor::zeros(g_plain.shape())), 0.0) << "all underflowed";
  EXPECT_GT(unscaled.underflow_fraction(), 0.99);
  EXPECT_LT(scaled.underflow_fraction(), 0.01);
  const double rel = max_abs_diff(g_scaled, g32) / max_abs_diff(g32, Tensor::zeros(g32.shape()));
  EXPECT_LT(rel, 8 * std::ldexp(1.0, -11));
  // a scale that pushes gradients past 65504 overflows to inf instead (counted)
  PrecisionStats over;
  Tensor g_over = grad(Precision::F16, 1e14, &over);
  EXPECT_GT(over.overflow, 0);
}

TEST(Precision, OverflowingActivationsAreCounted) {
  Tensor a = Tensor::from_vector(std::vector<float>{70000.0f, 1.0f}, {1, 2});
  Tensor b = Tensor::from_vector(std::vector<float>{1.0f, 1.0f}, {2, 1});
  PrecisionGuard amp(Precision::F16);
  Tensor y = matmul(a, b);
  EXPECT_TRUE(std::isinf(y.item()));
  EXPECT_EQ(amp.stats().overflow, 1);
}

}  // namespace
}  // namespace tlm
