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

// erf(x) from erfc's Chebyshev fit (Numerical Recipes erfcc, |relative error| < 1.2e-7):
// erfc(z) = t exp(-z^2 - 1.26551223 + t(1.00002368 + ...)), t = 1/(1 + z/2), z = |x|.
inline float verf(float x) {
  float z = std::fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -1.26551223f +
      t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f +
      t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f +
      t * 0.17087277f))))))));
  float erfc = t * vexp(-z * z + poly);
  float r = 1.0f - erfc;
  return x < 0 ? -r : r;
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
