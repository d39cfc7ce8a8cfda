#include "tensor/kernels/attention.h"

#include "tensor/profile.h"

#include <algorithm>
#include <cmath>

#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"

namespace tlm::kernels {
namespace {

// The visible keys [lo, hi) of query row i.
inline void band(int64_t i, int64_t Tk, int64_t offset, int64_t window, int64_t* lo,
                 int64_t* hi) {
  const int64_t p = offset + i;
  *hi = std::min(Tk, p + 1);
  *lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
  if (*lo > *hi) *lo = *hi;
}

void check_args(const char* op, const Tensor& x, int64_t offset, int64_t window) {
  TLM_CHECK(x.dim() >= 2, "{}: expected scores [..., Tq, Tk], got {}", op, x.str());
  TLM_CHECK(offset >= 0, "{}: the query offset must be >= 0, got {}", op, offset);
  TLM_CHECK(window >= 0, "{}: the window must be >= 0 (0 = no window), got {}", op, window);
}

}  // namespace

Tensor causal_softmax(const Tensor& x_in, double scale, int64_t offset, int64_t window) {
  TLM_PROFILE(Attention);
  check_args("causal_softmax", x_in, offset, window);
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const int64_t Tq = x.shape()[x.dim() - 2], Tk = x.shape().back();
  const int64_t rows = Tk == 0 ? 0 : x.numel() / Tk;
  dispatch_floating(x.dtype(), "causal_softmax", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const T s = static_cast<T>(scale);
#pragma omp parallel for if (x.numel() >= kParallelGrain / 4) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* a = xp + r * Tk;
      T* b = yp + r * Tk;
      int64_t lo, hi;
      band(r % Tq, Tk, offset, window, &lo, &hi);
      for (int64_t j = 0; j < lo; ++j) b[j] = T(0);
      for (int64_t j = hi; j < Tk; ++j) b[j] = T(0);
      if (lo == hi) continue;
      // Subtract the max (of the scaled, visible scores) so exp never overflows.
      T m = s * a[lo];
#pragma omp simd reduction(max : m)
      for (int64_t j = lo + 1; j < hi; ++j) m = std::max(m, s * a[j]);
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = lo; j < hi; ++j) {
        T e = vexp(s * a[j] - m);
        b[j] = e;
        sum += e;
      }
      const T inv = T(1) / sum;
      for (int64_t j = lo; j < hi; ++j) b[j] *= inv;
    }
  });
  return y;
}

Tensor causal_softmax_backward(const Tensor& grad, const Tensor& y_in, double scale,
                               int64_t offset, int64_t window) {
  TLM_PROFILE(Attention);
  check_args("causal_softmax backward", y_in, offset, window);
  TLM_CHECK(grad.shape() == y_in.shape(), "causal_softmax backward: gradient {} does not match "
            "output {}", shape_str(grad.shape()), shape_str(y_in.shape()));
  Tensor g = grad.contiguous();
  Tensor y = y_in.contiguous();
  Tensor dx = Tensor::empty(y.shape(), y.dtype());
  const int64_t Tq = y.shape()[y.dim() - 2], Tk = y.shape().back();
  const int64_t rows = Tk == 0 ? 0 : y.numel() / Tk;
  dispatch_floating(y.dtype(), "causal_softmax", [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    const T* yp = y.data<T>();
    T* dp = dx.data<T>();
    const T s = static_cast<T>(scale);
#pragma omp parallel for if (y.numel() >= kParallelGrain / 4) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* gg = gp + r * Tk;
      const T* yy = yp + r * Tk;
      T* d = dp + r * Tk;
      int64_t lo, hi;
      band(r % Tq, Tk, offset, window, &lo, &hi);
      for (int64_t j = 0; j < lo; ++j) d[j] = T(0);
      for (int64_t j = hi; j < Tk; ++j) d[j] = T(0);
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = lo; j < hi; ++j) dot += gg[j] * yy[j];
      for (int64_t j = lo; j < hi; ++j) d[j] = s * yy[j] * (gg[j] - dot);
    }
  });
  return dx;
}

}  // namespace tlm::kernels
