#include "tensor/half.h"

#include <cpuid.h>
#include <immintrin.h>

#include <cmath>

namespace tlm {

uint16_t float_to_fp16(float x) {
  const uint32_t u = float_bits(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((a >> 13) & 0x3ffu);  // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // ≥ 65520 rounds to 65536: inf (and inf itself)
  if (a < 0x38800000u) {
    // |x| < 2^-14: the result is subnormal (or zero). Its mantissa is |x| * 2^24, rounded to
    // nearest even; the scaling is exact and nearbyint uses the default rounding mode (RNE).
    // A result of 1024 is correctly the smallest normal, 0x0400.
    float m = std::nearbyint(bits_float(a) * 16777216.0f);
    return sign | static_cast<uint16_t>(m);
  }
  a += 0x0fffu + ((a >> 13) & 1u);  // round the 13 dropped bits to nearest even
  return sign | static_cast<uint16_t>((a >> 13) - 0x1c000u);  // rebias 127 -> 15
}

float fp16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m * 2^-24 (exact in fp32)
    float v = static_cast<float>(m) * (1.0f / 16777216.0f);
    return bits_float(float_bits(v) | sign);
  }
  if (e == 31) return bits_float(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0u));
  return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

namespace detail {

void floats_to_fp16_portable(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = float_to_fp16(src[i]);
}
void fp16_to_floats_portable(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_float(src[i]);
}
void floats_to_bf16_portable(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

__attribute__((target("f16c,avx"))) void floats_to_fp16_f16c(const float* src, uint16_t* dst,
                                                              int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = static_cast<uint16_t>(_cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT));
}

__attribute__((target("f16c,avx"))) void fp16_to_floats_f16c(const uint16_t* src, float* dst,
                                                              int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
}

__attribute__((target("avx512f,avx512bf16"))) void floats_to_bf16_avx512(const float* src,
                                                                         uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(src + i);
    __m256bh b = _mm512_cvtneps_pbh(v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<__m256i&>(b));
  }
  for (; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

}  // namespace detail

bool cpu_has_f16c() {
  // F16C is CPUID.1:ECX bit 29, read directly: clang 14's __builtin_cpu_supports (the fuzz
  // build) does not know "f16c".
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 &&
           (ecx & bit_F16C) != 0;
  }();
  return has;
}

bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  return has;
}

void floats_to_fp16(const float* src, uint16_t* dst, int64_t n) {
  if (cpu_has_f16c()) detail::floats_to_fp16_f16c(src, dst, n);
  else detail::floats_to_fp16_portable(src, dst, n);
}

void fp16_to_floats(const uint16_t* src, float* dst, int64_t n) {
  if (cpu_has_f16c()) detail::fp16_to_floats_f16c(src, dst, n);
  else detail::fp16_to_floats_portable(src, dst, n);
}

void floats_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  if (!cpu_has_avx512_bf16()) return detail::floats_to_bf16_portable(src, dst, n);
  // Blocks of 256: the hardware where no input is an fp32 subnormal (it would flush them).
  for (int64_t start = 0; start < n; start += 256) {
    int64_t len = std::min<int64_t>(256, n - start);
    bool subnormal = false;
    for (int64_t i = 0; i < len; ++i) {
      uint32_t a = float_bits(src[start + i]) & 0x7fffffffu;
      subnormal |= (a != 0) & (a < 0x00800000u);
    }
    if (subnormal) detail::floats_to_bf16_portable(src + start, dst + start, len);
    else detail::floats_to_bf16_avx512(src + start, dst + start, len);
  }
}

void bf16_to_floats(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(src[i]);
}

void round_to_fp16_(float* x, int64_t n) {
  uint16_t buf[256];
  for (int64_t start = 0; start < n; start += 256) {
    int64_t len = std::min<int64_t>(256, n - start);
    floats_to_fp16(x + start, buf, len);
    fp16_to_floats(buf, x + start, len);
  }
}

void round_to_bf16_(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = bf16_to_float(float_to_bf16(x[i]));
}

}  // namespace tlm
