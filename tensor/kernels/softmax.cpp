#include "tensor/kernels/softmax.h"

#include "tensor/profile.h"

#include <cmath>
#include <limits>

#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"

namespace tlm::kernels {
namespace {

struct Lanes {
  int64_t outer = 1, n = 1, inner = 1;
};

Lanes lanes(const Tensor& x, int64_t axis) {
  Lanes l;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < axis) l.outer *= x.shape()[i];
    if (i == axis) l.n = x.shape()[i];
    if (i > axis) l.inner *= x.shape()[i];
  }
  return l;
}

// Calls fn(offset, stride, n) for every lane (1-D slice along the axis) of a contiguous tensor.
template <class Fn>
void for_each_lane(const Lanes& l, Fn fn) {
  const int64_t total = l.outer * l.inner;
#pragma omp parallel for if (total * l.n >= kParallelGrain / 4) schedule(static)
  for (int64_t idx = 0; idx < total; ++idx) {
    int64_t o = idx / l.inner, i = idx % l.inner;
    fn(o * l.n * l.inner + i, l.inner, l.n);
  }
}

template <bool kLog>
Tensor softmax_impl(const Tensor& x_in, int64_t axis, const char* name) {
  axis = normalize_axis(axis, x_in.dim(), name);
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Lanes l = lanes(x, axis);
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_each_lane(l, [&](int64_t off, int64_t s, int64_t n) {
      const T* a = xp + off;
      T* b = yp + off;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < n; ++k) m = std::max(m, a[k * s]);
      if (m == -std::numeric_limits<T>::infinity()) {  // every entry masked out
        for (int64_t k = 0; k < n; ++k) b[k * s] = kLog ? m : T(0);
        return;
      }
      T sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        T e = vexp(a[k * s] - m);
        if (!kLog) b[k * s] = e;
        sum += e;
      }
      if (kLog) {
        T lse = m + std::log(sum);
        for (int64_t k = 0; k < n; ++k) b[k * s] = a[k * s] - lse;
      } else {
        T inv = T(1) / sum;
        for (int64_t k = 0; k < n; ++k) b[k * s] *= inv;
      }
    });
  });
  return y;
}

template <bool kLog>
Tensor softmax_backward_impl(const Tensor& g_in, const Tensor& y_in, int64_t axis,
                             const char* name) {
  axis = normalize_axis(axis, y_in.dim(), name);
  TLM_CHECK(g_in.shape() == y_in.shape(), "{} backward: gradient {} does not match output {}",
            name, shape_str(g_in.shape()), shape_str(y_in.shape()));
  Tensor g = g_in.contiguous();
  Tensor y = y_in.contiguous();
  Tensor dx = Tensor::empty(y.shape(), y.dtype());
  Lanes l = lanes(y, axis);
  dispatch_floating(y.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    const T* yp = y.data<T>();
    T* dp = dx.data<T>();
    for_each_lane(l, [&](int64_t off, int64_t s, int64_t n) {
      const T* gg = gp + off;
      const T* yy = yp + off;
      T* d = dp + off;
      T dot = 0;
      if (kLog) {
        for (int64_t k = 0; k < n; ++k) dot += gg[k * s];
        for (int64_t k = 0; k < n; ++k) d[k * s] = gg[k * s] - vexp(yy[k * s]) * dot;
      } else {
        for (int64_t k = 0; k < n; ++k) dot += gg[k * s] * yy[k * s];
        for (int64_t k = 0; k < n; ++k) d[k * s] = yy[k * s] * (gg[k * s] - dot);
      }
    });
  });
  return dx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) {
  TLM_PROFILE(Softmax); return softmax_impl<false>(x, axis, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  TLM_PROFILE(Softmax);
  return softmax_impl<true>(x, axis, "log_softmax");
}
Tensor softmax_backward(const Tensor& g, const Tensor& y, int64_t axis) {
  TLM_PROFILE(Softmax);
  return softmax_backward_impl<false>(g, y, axis, "softmax");
}
Tensor log_softmax_backward(const Tensor& g, const Tensor& y, int64_t axis) {
  TLM_PROFILE(Softmax);
  return softmax_backward_impl<true>(g, y, axis, "log_softmax");
}

}  // namespace tlm::kernels
