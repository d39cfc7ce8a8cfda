// fp16/bf16 conversions: portable code against this CPU's hardware instructions (F16C,
// AVX-512 BF16), bit for bit, over every 16-bit pattern and a large sample of fp32 values
// including every special case; and against an exact reference computed in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/half.h"
#include "tensor/kernels/copy.h"
#include "tensor/random.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

namespace tlm {
namespace {

// fp32 inputs: specials, boundaries of both formats (and the values just around them),
// every exponent with random mantissas, and random bit patterns.
std::vector<float> sample_floats() {
  std::vector<uint32_t> bits = {
      0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001,
      0x7fbfffff, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff,
      0x477fe000, 0x477ff000, 0x477fefff, 0x477ff001, 0x477fffff, 0x47800000,  // fp16 max region
      0x38800000, 0x387fffff, 0x33800000, 0x33000000, 0x33000001, 0x32ffffff,  // fp16 sub/normal
      0x3f800000, 0x3f801000, 0x3f802000, 0x3f803000, 0x3f808000, 0x3f818000,  // ties
      0x7f7f8000, 0x7f7f7fff, 0x7f7fffff};                                     // bf16 max region
  Rng rng(2024);
  for (uint32_t e = 0; e < 256; ++e)
    for (int k = 0; k < 2000; ++k) {
      uint32_t m = static_cast<uint32_t>(rng.next_u64()) & 0x7fffffu;
      // half of them exactly on a rounding tie of fp16 or bf16
      if (k % 4 == 1) m = (m & ~0x1fffu) | 0x1000u;
      if (k % 4 == 2) m = (m & ~0xffffu) | 0x8000u;
      bits.push_back((rng.next_u64() & 1 ? 0x80000000u : 0u) | (e << 23) | m);
    }
  for (int k = 0; k < 2000000; ++k) bits.push_back(static_cast<uint32_t>(rng.next_u64()));
  std::vector<float> out;
  for (uint32_t b : bits) out.push_back(bits_float(b));
  return out;
}

// Nearest-even rounding of a finite value to a format with `mant` stored mantissa bits,
// minimum normal exponent `emin`, computed exactly in double; returns the rounded value.
double round_exact(double x, int mant, int emin, double max_finite) {
  if (x == 0) return x;
  int e;
  std::frexp(std::fabs(x), &e);  // |x| = f * 2^e, f in [0.5, 1)
  int exp = std::max(e - 1, emin);
  double ulp = std::ldexp(1.0, exp - mant);
  double q = std::fabs(x) / ulp;  // exact: a power-of-two scaling
  double r = std::nearbyint(q);   // ties to even in the default rounding mode
  double v = std::copysign(r * ulp, x);
  double overflow = max_finite + std::ldexp(1.0, std::ilogb(max_finite) - mant - 1);  // max + ½ulp
  if (std::fabs(x) >= overflow) return std::copysign(INFINITY, x);
  return v;
}

TEST(Half, Fp16DecodeMatchesF16cForAll65536Patterns) {
  ASSERT_TRUE(cpu_has_f16c()) << "this test needs F16C (x86-64 since 2012)";
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> soft(65536), hard(65536);
  detail::fp16_to_floats_portable(all.data(), soft.data(), 65536);
  detail::fp16_to_floats_f16c(all.data(), hard.data(), 65536);
  for (int i = 0; i < 65536; ++i) ASSERT_EQ(float_bits(soft[i]), float_bits(hard[i])) << "pattern " << i;
  // and every fp16 value survives the round trip
  std::vector<uint16_t> back(65536);
  detail::floats_to_fp16_portable(soft.data(), back.data(), 65536);
  for (int i = 0; i < 65536; ++i) {
    bool nan = ((i >> 10) & 31) == 31 && (i & 0x3ff);
    if (nan) ASSERT_TRUE(std::isnan(fp16_to_float(back[i])));
    else ASSERT_EQ(back[i], i);
  }
}

TEST(Half, Fp16EncodeMatchesF16cBitForBit) {
  ASSERT_TRUE(cpu_has_f16c());
  auto xs = sample_floats();
  std::vector<uint16_t> soft(xs.size()), hard(xs.size());
  detail::floats_to_fp16_portable(xs.data(), soft.data(), static_cast<int64_t>(xs.size()));
  detail::floats_to_fp16_f16c(xs.data(), hard.data(), static_cast<int64_t>(xs.size()));
  for (size_t i = 0; i < xs.size(); ++i)
    ASSERT_EQ(soft[i], hard[i]) << "fp32 bits 0x" << std::hex << float_bits(xs[i]);
}

TEST(Half, Fp16EncodeIsExactNearestEven) {
  for (float x : sample_floats()) {
    if (std::isnan(x)) continue;
    double want = round_exact(x, 10, -14, 65504.0);
    float got = fp16_to_float(float_to_fp16(x));
    ASSERT_EQ(got, static_cast<float>(want)) << "x = " << x;
    ASSERT_EQ(std::signbit(got), std::signbit(x));
  }
  EXPECT_EQ(float_to_fp16(65519.0f), 0x7bffu);   // rounds down to the max finite 65504
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7c00u);   // the tie rounds to even: inf
  EXPECT_EQ(float_to_fp16(5.96e-8f), 0x0001u);   // the smallest subnormal
  EXPECT_EQ(float_to_fp16(2.98e-8f), 0x0000u);   // below half of it: zero
}

TEST(Half, Bf16EncodeMatchesAvx512Bf16ExceptSubnormalFlushing) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU: portable path only";
  auto xs = sample_floats();
  std::vector<uint16_t> soft(xs.size()), hard(xs.size()), mixed(xs.size());
  const int64_t n = static_cast<int64_t>(xs.size());
  detail::floats_to_bf16_portable(xs.data(), soft.data(), n);
  detail::floats_to_bf16_avx512(xs.data(), hard.data(), n);
  floats_to_bf16(xs.data(), mixed.data(), n);
  int64_t compared = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    uint32_t a = float_bits(xs[i]) & 0x7fffffffu;
    bool subnormal = a != 0 && a < 0x00800000u;
    if (subnormal) {
      ASSERT_EQ(hard[i] & 0x7fffu, 0u) << "the hardware flushes fp32 subnormal inputs";
    } else {
      ASSERT_EQ(soft[i], hard[i]) << "fp32 bits 0x" << std::hex << float_bits(xs[i]);
      ++compared;
    }
    ASSERT_EQ(mixed[i], soft[i]);  // the dispatching path is always the exact one
  }
  EXPECT_GT(compared, 2000000);
}

TEST(Half, Bf16EncodeIsExactNearestEven) {
  for (float x : sample_floats()) {
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(x))));
      continue;
    }
    double want = round_exact(x, 7, -126, 3.3895313892515355e38);
    ASSERT_EQ(bf16_to_float(float_to_bf16(x)), static_cast<float>(want)) << "x = " << x;
  }
  for (int i = 0; i < 65536; ++i) {  // every bf16 value is exact in fp32 and round-trips
    uint16_t b = static_cast<uint16_t>(i);
    float f = bf16_to_float(b);
    if (!std::isnan(f)) {
      ASSERT_EQ(float_to_bf16(f), b);
    }
  }
}

TEST(Half, InPlaceRoundingEmulatesStorage) {
  std::vector<float> x = {1.0f + 1.0f / 4096, 1e-9f, 70000.0f, 3.14159265f};
  round_to_fp16_(x.data(), 4);
  EXPECT_EQ(x[0], 1.0f);        // below half an fp16 ulp (2^-11)
  EXPECT_EQ(x[1], 0.0f);        // underflows
  EXPECT_TRUE(std::isinf(x[2]));
  EXPECT_EQ(x[3], 3.140625f);
  std::vector<float> y = {3.14159265f};
  round_to_bf16_(y.data(), 1);
  EXPECT_EQ(y[0], 3.140625f);
}

TEST(Half, Bf16EncodeOfEveryBf16ValueMatchesAvx512) {
  // Every bf16 pattern as an fp32 input (exact, so it must come back unchanged) and its two
  // fp32 neighbours just above and below (the nearest-even decision on each side).
  std::vector<float> xs;
  for (uint32_t i = 0; i < 65536; ++i)
    for (uint32_t d : {0u, 1u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) xs.push_back(bits_float((i << 16) | d));
  const int64_t n = static_cast<int64_t>(xs.size());
  std::vector<uint16_t> soft(xs.size()), mixed(xs.size());
  detail::floats_to_bf16_portable(xs.data(), soft.data(), n);
  floats_to_bf16(xs.data(), mixed.data(), n);  // the dispatching path: hardware where it can
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_EQ(mixed[i], soft[i]) << "fp32 bits 0x" << std::hex << float_bits(xs[i]);
    const float x = xs[i];
    if (!std::isnan(x) && (float_bits(x) & 0xffffu) == 0) {
      ASSERT_EQ(soft[i], float_bits(x) >> 16);
    }
  }
  if (cpu_has_avx512_bf16()) {
    std::vector<uint16_t> hard(xs.size());
    detail::floats_to_bf16_avx512(xs.data(), hard.data(), n);
    for (size_t i = 0; i < xs.size(); ++i) {
      uint32_t a = float_bits(xs[i]) & 0x7fffffffu;
      if (a != 0 && a < 0x00800000u) continue;  // the documented subnormal flush
      ASSERT_EQ(hard[i], soft[i]) << "fp32 bits 0x" << std::hex << float_bits(xs[i]);
    }
  }
}

// The dispatching array functions (hardware when present) equal the portable scalar code for
// every length 0..80 (vector bodies and scalar tails) on inputs full of special values.
TEST(Half, DispatchedArrayConversionsMatchPortableForEveryLength) {
  std::vector<float> pool = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 65504.0f, 65520.0f, -65519.0f,
                             6.1e-5f, 5.96e-8f, 2.98e-8f, 1e-40f, -1e-45f, 3.3895e38f, 1.0f + 1.0f / 2048};
  Rng rng(7);
  while (pool.size() < 97) pool.push_back(bits_float(static_cast<uint32_t>(rng.next_u64())));
  for (int64_t n = 0; n <= 80; ++n) {
    const float* x = pool.data() + (n % 17);
    std::vector<uint16_t> h(n), hs(n), b(n), bs(n);
    floats_to_fp16(x, h.data(), n);
    detail::floats_to_fp16_portable(x, hs.data(), n);
    floats_to_bf16(x, b.data(), n);
    detail::floats_to_bf16_portable(x, bs.data(), n);
    ASSERT_EQ(h, hs) << "n = " << n;
    ASSERT_EQ(b, bs) << "n = " << n;
    std::vector<float> back(n), back_s(n), r(x, x + n), rs(n);
    fp16_to_floats(h.data(), back.data(), n);
    detail::fp16_to_floats_portable(h.data(), back_s.data(), n);
    round_to_fp16_(r.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(float_bits(back[i]), float_bits(back_s[i]));
      ASSERT_EQ(float_bits(r[i]), float_bits(fp16_to_float(float_to_fp16(x[i]))));
    }
    std::vector<float> rb(x, x + n);
    round_to_bf16_(rb.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(float_bits(rb[i]), float_bits(bf16_to_float(bs[i])));
  }
}

// Tensor::to(F16 / BF16): the parallel, vectorised contiguous path and the strided scalar path
// both give the scalar conversion of every element, and converting back decodes exactly.
TEST(Half, TensorToHalfMatchesScalarConversion) {
  Rng rng(11);
  const int64_t rows = 300, cols = 401;  // > kParallelGrain elements: the OpenMP chunks run
  Tensor x = Tensor::randn({rows, cols}, rng, 100.0);
  float* p = x.data<float>();
  p[0] = NAN; p[1] = INFINITY; p[2] = -0.0f; p[3] = 70000.0f; p[4] = 1e-7f; p[5] = 1e-39f;
  for (DType fmt : {DType::F16, DType::BF16}) {
    Tensor h = x.to(fmt);
    ASSERT_EQ(h.dtype(), fmt);
    ASSERT_EQ(h.shape(), x.shape());
    Tensor ht = views::transpose(x, 0, 1).to(fmt);  // a strided source: the scalar path
    Tensor back = h.to(DType::F32), back_t = views::transpose(ht, 0, 1).to(DType::F32);
    const auto xs = x.to_vector<float>(), bs = back.to_vector<float>(), bts = back_t.to_vector<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const uint16_t want = fmt == DType::F16 ? float_to_fp16(xs[i]) : float_to_bf16(xs[i]);
      const uint16_t got = fmt == DType::F16 ? h.data<Fp16>()[i].bits : h.data<Bf16>()[i].bits;
      ASSERT_EQ(got, want) << "element " << i;
      const float dec = fmt == DType::F16 ? fp16_to_float(want) : bf16_to_float(want);
      ASSERT_EQ(float_bits(bs[i]), float_bits(dec));
      ASSERT_EQ(float_bits(bts[i]), float_bits(dec));
    }
    EXPECT_EQ(dtype_size(fmt), 2u);
    EXPECT_EQ(Tensor::full({3}, 1.5, fmt).to_vector<float>(), (std::vector<float>{1.5f, 1.5f, 1.5f}));
    EXPECT_EQ(Tensor::arange(3, fmt).to_vector<double>(), (std::vector<double>{0, 1, 2}));
    EXPECT_EQ(Tensor::scalar(3.14159265, fmt).item(), 3.140625);
  }
  std::vector<float> r = x.to_vector<float>();
  kernels::round_floats_(r.data(), x.numel(), DType::F16);
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_EQ(float_bits(r[i]), float_bits(fp16_to_float(float_to_fp16(p[i]))));
}

TEST(Half, HalfTensorsAreStorageOnly) {
  Tensor h = Tensor::zeros({2, 2}, DType::F16);
  EXPECT_THROW(h.data<float>(), Error);
  Tensor f;
  try {
    dispatch_floating(h.dtype(), "exp", [&](auto) {});
    FAIL() << "a float16 tensor must not reach a compute kernel";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("float16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlm
