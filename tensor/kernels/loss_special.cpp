#include "tensor/kernels/loss_special.h"

#include <cmath>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

constexpr double kInvSqrt2 = 0.7071067811865476;    // 1/sqrt(2)
constexpr double kHalfLog2Pi = 0.9189385332046728;  // log(2 pi)/2
constexpr double kAsymptotic = -30.0;  // below: erfc would lose accuracy near underflow

// 1 - 1/x^2 + 3/x^4 - 15/x^6 + ... (the asymptotic series of Phi(x) x / phi(x) for x -> -inf);
// at x <= -30 the first omitted term is < 1e-13.
double mills_series(double x) {
  const double r = 1 / (x * x);
  double term = 1, sum = 1;
  for (int k = 1; k <= 6; ++k) {
    term *= -(2 * k - 1) * r;
    sum += term;
  }
  return sum;
}

}  // namespace

double log_ndtr(double x) {
  if (x > 5) return std::log1p(-0.5 * std::erfc(x * kInvSqrt2));  // Phi ~ 1: keep the tail
  if (x > kAsymptotic) return std::log(0.5 * std::erfc(-x * kInvSqrt2));
  // Phi(x) = phi(x)/(-x) * series(x)
  return -0.5 * x * x - kHalfLog2Pi - std::log(-x) + std::log(mills_series(x));
}

double log_ndtr_derivative(double x) {
  if (x > kAsymptotic) return std::exp(-0.5 * x * x - kHalfLog2Pi - log_ndtr(x));
  return -x / mills_series(x);  // phi/Phi without the cancellation of the exp form
}

Tensor log_ndtr(const Tensor& x_in) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), "log_ndtr", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for if (n >= kParallelGrain / 8) schedule(static)
    for (int64_t i = 0; i < n; ++i) yp[i] = static_cast<T>(log_ndtr(static_cast<double>(xp[i])));
  });
  return y;
}

Tensor log_ndtr_backward(const Tensor& grad, const Tensor& x_in) {
  Tensor x = x_in.contiguous();
  Tensor d = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), "log_ndtr", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* dp = d.data<T>();
#pragma omp parallel for if (n >= kParallelGrain / 8) schedule(static)
    for (int64_t i = 0; i < n; ++i)
      dp[i] = static_cast<T>(log_ndtr_derivative(static_cast<double>(xp[i])));
  });
  return binary(grad, d, Binary::Mul);
}

}  // namespace tlm::kernels
