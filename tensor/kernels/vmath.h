// Vectorisable float math: exp, the normal CDF, tanh, sigmoid written branch-free so that the compiler
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

// e^r for r in [-ln2/2, ln2/2], and the reduction x = n ln 2 + r (ln 2 in two parts, so r is
// exact); shared by vexp and vexp_normal.
inline float exp_reduce(float x, float& n) {
  n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  return r - n * -2.12194440e-4f;
}
inline float exp_poly(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p;
}

inline float vexp(float x) {
  // Beyond these bounds exp over/underflows; clamp so the bit tricks stay in range and then
  // restore inf/0 (and keep NaN).
  const float kHi = 88.7228393f, kLo = -103.972084f;
  float xc = x > kHi ? kHi : (x < kLo ? kLo : x);
  float n;
  const float p = exp_poly(exp_reduce(xc, n));
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
  float n;
  const float p = exp_poly(exp_reduce(x, n));
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// Phi(x), the standard normal CDF (GELU's gate: gelu(x) = x Phi(x)).
// Phi(-t) = erfc(t / sqrt 2) / 2 = exp(Q(t)) for t = |x|, with Q(t) = log(1/2) + t P(t) and P a
// degree-8 polynomial fitted to log erfc on [0, 5.5437] (weighted least squares, weight Phi(-t),
// so the error is absolute: < 8e-9 in exact arithmetic, < 1e-7 in float; scripts/fit_normcdf.py).
// Beyond t = 5.5437, Phi(-t) < 1.5e-8 is 0 next to 1 in float: the tail is set to 0 there.
// No division, and exp's argument stays in [-17.7, -0.69], so vexp_normal serves: twice as fast
// as the erf form 0.5 (1 + erf(x / sqrt 2)) with the Numerical Recipes erfcc it replaced.
inline float vnormcdf(float x) {
  const float t = std::fabs(x);
  const float tc = t < 5.5437f ? t : 5.5437f;
  float p = -1.9650103118e-06f;
  p = p * tc + 2.7294506656e-05f;
  p = p * tc + -1.2905013100e-04f;
  p = p * tc + -9.4917560059e-05f;
  p = p * tc + 4.8959904618e-03f;
  p = p * tc + -3.6387578527e-02f;
  p = p * tc + -3.1829886664e-01f;
  p = p * tc + -7.9788532760e-01f;
  p = p * tc + -0.693147180560f;  // log(1/2)
  float tail = vexp_normal(p);     // Phi(-t)
  tail = t < 5.5437f ? tail : 0.0f;
  float r = x < 0 ? tail : 1.0f - tail;
  return x != x ? x : r;  // NaN stays NaN (the clamp would have turned it into a number)
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
inline double vnormcdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752); }
inline double vtanh(double x) { return std::tanh(x); }
inline double vsigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

}  // namespace tlm::kernels
