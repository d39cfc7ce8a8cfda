// Vectorisable float math: exp, erf, tanh, sigmoid written branch-free so that the compiler
// turns a loop over them into SIMD code (glibc's expf/erff are scalar calls unless the whole
// program is built with -ffast-math, which would also break inf/NaN handling).
// float64 uses the C library: it serves gradient checks, where accuracy is what matters.
//
// vexp(float): exp(x) = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
// (ln 2 split in two parts so r is exact), e^r by a degree-6 Taylor/minimax polynomial
// (Cephes expf coefficients, relative error < 2e-7), 2^n built in the exponent bits.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace tlm::kernels {

inline float vexp(float x) {
  // Beyond these bounds exp over/underflows; clamp so the bit tricks stay in range and then
  // restore inf/0 (and keep NaN).
  const float kHi = 88.7228393f, kLo = -103.972084f;
  float xc = x > kHi ? kHi : (x < kLo ? kLo : x);
  float n = std::nearbyint(xc * 1.44269504088896341f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n in two halves so n down to -150 (subnormal results) is representable.
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni / 2, n2 = ni - n1;
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float y = p * s1 * s2;
  y = x > kHi ? INFINITY : y;
  y = x < kLo ? 0.0f : y;
  return x != x ? x : y;
}

// exp(x) for x in [-87, 88], where the result is a normal float: vexp without the clamping,
// the special values and the subnormal scaling (half its instructions). The callers below
// guarantee the range; anything outside it gives garbage, so it is not for general use.
inline float vexp_normal(float x) {
  float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// erf(x) = sign(x) (1 - erfc(|x|)), erfc(z) = exp(P(z)) with P a degree-9 polynomial, P(0) = 0,
// fitted to log erfc(z) on [0, 3.92] (weighted least squares, weight erfc(z), so the error is
// absolute in erf: < 2.3e-9 in exact arithmetic, < 1e-7 in float). From 3.92 on, erf rounds to
// 1 in float, so z is clamped there and the result set to 1. No division, and exp's argument
// stays in [-17.5, 0], so vexp_normal serves: about 2x faster than the Numerical Recipes erfcc
// form this replaced. The fit: scripts/fit_erf.py.
inline float verf(float x) {
  const float a = std::fabs(x);
  const float z = a < 3.92f ? a : 3.92f;
  float p = 8.0438570948e-06f;
  p = p * z + -1.0602695822e-04f;
  p = p * z + 5.8795179398e-04f;
  p = p * z + -1.5767622075e-03f;
  p = p * z + 5.8783695721e-05f;
  p = p * z + 1.9217141725e-02f;
  p = p * z + -1.0279921012e-01f;
  p = p * z + -6.3661610705e-01f;
  p = p * z + -1.1283793325e+00f;
  float r = 1.0f - vexp_normal(p * z);
  r = a < 3.92f ? r : 1.0f;  // erf(3.92) = 1 - 2.96e-8 rounds to 1 in float
  r = x < 0 ? -r : r;
  return x != x ? x : r;  // NaN stays NaN (the clamp would have turned it into 3.92)
}

inline float vtanh(float x) {
  // tanh(x) = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}); small |x| by its series (the
  // subtraction would lose the relative accuracy there).
  float a = std::fabs(x);
  float e = vexp(-2.0f * a);
  float t = (1.0f - e) / (1.0f + e);
  float x2 = x * x;
  float small = a * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  t = a < 0.0625f ? small : t;
  return x < 0 ? -t : t;
}

inline float vsigmoid(float x) {
  float e = vexp(-std::fabs(x));
  float pos = 1.0f / (1.0f + e);  // sigma(|x|)
  return x >= 0 ? pos : 1.0f - pos;
}

inline double vexp(double x) { return std::exp(x); }
inline double verf(double x) { return std::erf(x); }
inline double vtanh(double x) { return std::tanh(x); }
inline double vsigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

}  // namespace tlm::kernels
