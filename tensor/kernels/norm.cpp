#include "tensor/kernels/norm.h"

#include "tensor/profile.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

void check_params(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  TLM_CHECK(x.dim() >= 1, "{}: expected at least a 1-D input, got {}", op, x.str());
  const int64_t d = x.shape().back();
  for (const Tensor* p : {&gamma, &beta}) {
    if (!p->defined()) continue;
    TLM_CHECK(p->dim() == 1 && p->shape()[0] == d, "{}: {} x {}: the gain/bias must be [{}]",
              op, shape_str(x.shape()), shape_str(p->shape()), d);
    TLM_CHECK(p->dtype() == x.dtype(), "{}: dtypes differ: {} and {}", op, x.str(), p->str());
  }
}

Shape row_shape(const Tensor& x) { return Shape{x.numel() / std::max<int64_t>(x.shape().back(), 1)}; }

// kCenter: LayerNorm (subtract the mean); otherwise RMSNorm.
template <bool kCenter>
Tensor norm_forward(const char* op, const Tensor& x_in, const Tensor& gamma, const Tensor& beta,
                    double eps, Tensor* mean, Tensor* rstd) {
  check_params(op, x_in, gamma, beta);
  Tensor x = x_in.contiguous();
  const int64_t d = x.shape().back();
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mu = Tensor::empty(row_shape(x), x.dtype());
  Tensor rs = Tensor::empty(row_shape(x), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const Tensor gc = gamma.defined() ? gamma.contiguous() : Tensor();
    const Tensor bc = beta.defined() ? beta.contiguous() : Tensor();
    const T* gp = gc.defined() ? gc.data<T>() : nullptr;
    const T* bp = bc.defined() ? bc.data<T>() : nullptr;
    T* yp = y.data<T>();
    T* mp = mu.data<T>();
    T* rp = rs.data<T>();
#pragma omp parallel for if (rows * d >= kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* a = xp + r * d;
      T* b = yp + r * d;
      // Sums in double, as SIMD reductions (several partial sums: without them each add waits
      // for the previous one, and the two sums took most of the kernel's time).
      double m = 0;
      if (kCenter) {
#pragma omp simd reduction(+ : m)
        for (int64_t k = 0; k < d; ++k) m += a[k];
        m /= static_cast<double>(d);
      }
      // Two passes (mean, then squared deviations): no cancellation for rows far from 0.
      double ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t k = 0; k < d; ++k) {
        double c = a[k] - m;
        ss += c * c;
      }
      const T mt = static_cast<T>(m);
      const T rt = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
      mp[r] = mt;
      rp[r] = rt;
      for (int64_t k = 0; k < d; ++k) {
        T v = (a[k] - mt) * rt;
        if (gp) v *= gp[k];
        if (bp) v += bp[k];
        b[k] = v;
      }
    }
  });
  if (mean) *mean = mu;
  if (rstd) *rstd = rs;
  return y;
}

// With g' = g * gamma and xhat = (x - mu) * rstd:
//   dx = rstd * (g' - [LN] mean(g') - xhat * mean(g' * xhat)),
//   dgamma = sum_rows g * xhat,  dbeta = sum_rows g.
template <bool kCenter>
void norm_backward(const char* op, const Tensor& grad, const Tensor& x_in, const Tensor& gamma,
                   const Tensor& mean, const Tensor& rstd, Tensor* dx, Tensor* dgamma,
                   Tensor* dbeta) {
  TLM_CHECK(grad.shape() == x_in.shape(), "{} backward: gradient {} does not match input {}", op,
            shape_str(grad.shape()), shape_str(x_in.shape()));
  Tensor x = x_in.contiguous();
  Tensor g = grad.contiguous();
  const int64_t d = x.shape().back();
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  if (dx) *dx = Tensor::empty(x.shape(), x.dtype());
  if (dgamma) *dgamma = Tensor::zeros({d}, x.dtype());
  if (dbeta) *dbeta = Tensor::zeros({d}, x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const Tensor gc = gamma.defined() ? gamma.contiguous() : Tensor();
    const T* gam = gc.defined() ? gc.data<T>() : nullptr;
    const T* mp = kCenter ? mean.data<T>() : nullptr;
    const T* rp = rstd.data<T>();
    T* dxp = dx ? dx->data<T>() : nullptr;
    const bool want_params = dgamma || dbeta;
    const bool parallel = rows * d >= kParallelGrain;
    const int nthreads = parallel ? omp_get_max_threads() : 1;
    // Per-thread partial sums of dgamma/dbeta, combined in thread order (deterministic).
    std::vector<T> part_g(want_params ? static_cast<size_t>(nthreads * d) : 0, T(0));
    std::vector<T> part_b(want_params ? static_cast<size_t>(nthreads * d) : 0, T(0));
#pragma omp parallel num_threads(nthreads) if (parallel)
    {
      const int tid = omp_get_thread_num();
      T* pg = want_params ? part_g.data() + tid * d : nullptr;
      T* pb = want_params ? part_b.data() + tid * d : nullptr;
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const T* a = xp + r * d;
        const T* gg = gp + r * d;
        const T m = kCenter ? mp[r] : T(0);
        const T rs = rp[r];
        if (dxp) {
          T sum_g = 0, sum_gx = 0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
          for (int64_t k = 0; k < d; ++k) {
            T gk = gam ? gg[k] * gam[k] : gg[k];
            sum_g += gk;
            sum_gx += gk * (a[k] - m) * rs;
          }
          const T inv_d = T(1) / static_cast<T>(d);
          const T mean_g = kCenter ? sum_g * inv_d : T(0);
          const T mean_gx = sum_gx * inv_d;
          T* o = dxp + r * d;
          for (int64_t k = 0; k < d; ++k) {
            T gk = gam ? gg[k] * gam[k] : gg[k];
            o[k] = rs * (gk - mean_g - (a[k] - m) * rs * mean_gx);
          }
        }
        if (want_params) {
          for (int64_t k = 0; k < d; ++k) {
            pg[k] += gg[k] * (a[k] - m) * rs;
            pb[k] += gg[k];
          }
        }
      }
    }
    if (want_params) {
      T* dg = dgamma ? dgamma->data<T>() : nullptr;
      T* db = dbeta ? dbeta->data<T>() : nullptr;
      for (int t = 0; t < nthreads; ++t)
        for (int64_t k = 0; k < d; ++k) {
          if (dg) dg[k] += part_g[t * d + k];
          if (db) db[k] += part_b[t * d + k];
        }
    }
  });
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                  Tensor* mean, Tensor* rstd) {
  TLM_PROFILE(Norm);
  return norm_forward<true>("layer_norm", x, gamma, beta, eps, mean, rstd);
}

void layer_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor* dx, Tensor* dgamma,
                         Tensor* dbeta) {
  TLM_PROFILE(Norm);
  norm_backward<true>("layer_norm", grad, x, gamma, mean, rstd, dx, dgamma, dbeta);
}

Tensor rms_norm(const Tensor& x, const Tensor& gamma, double eps, Tensor* rstd) {
  TLM_PROFILE(Norm);
  return norm_forward<false>("rms_norm", x, gamma, Tensor(), eps, nullptr, rstd);
}

void rms_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& gamma,
                       const Tensor& rstd, Tensor* dx, Tensor* dgamma) {
  TLM_PROFILE(Norm);
  norm_backward<false>("rms_norm", grad, x, gamma, Tensor(), rstd, dx, dgamma, nullptr);
}

}  // namespace tlm::kernels
