#include "tensor/kernels/loss_cross_entropy.h"

#include "tensor/profile.h"

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"

namespace tlm::kernels {
namespace {

void check_inputs(const Tensor& logits, const Tensor& targets, int32_t ignore_index) {
  TLM_CHECK(logits.dim() == 2, "cross_entropy: logits {} x targets {}: expected logits [N,V]",
            shape_str(logits.shape()), shape_str(targets.shape()));
  TLM_CHECK(is_floating(logits.dtype()), "cross_entropy: logits must be float32/float64, got {}",
            logits.str());
  TLM_CHECK(targets.dtype() == DType::I32, "cross_entropy: targets must be int32 class ids, got {}",
            targets.str());
  TLM_CHECK(targets.dim() == 1 && targets.shape()[0] == logits.shape()[0],
            "cross_entropy: logits {} x targets {}: expected targets [N] with N = {}",
            shape_str(logits.shape()), shape_str(targets.shape()), logits.shape()[0]);
  const int64_t V = logits.shape()[1];
  TLM_CHECK(V >= 1, "cross_entropy: logits {} has no classes", shape_str(logits.shape()));
  Tensor t = targets.contiguous();
  const int32_t* tp = t.data<int32_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    TLM_CHECK(tp[i] == ignore_index || (tp[i] >= 0 && tp[i] < V),
              "cross_entropy: logits {} x targets {}: target {} at row {} is out of range [0, {}) "
              "and is not ignore_index {}",
              shape_str(logits.shape()), shape_str(targets.shape()), tp[i], i, V, ignore_index);
}

}  // namespace

CrossEntropyResult cross_entropy_forward(const Tensor& logits_in, const Tensor& targets_in,
                                         double eps, int32_t ignore_index,
                                         LossReduction reduction) {
  TLM_PROFILE(Loss);
  check_inputs(logits_in, targets_in, ignore_index);
  TLM_CHECK(eps >= 0 && eps <= 1, "cross_entropy: label_smoothing must be in [0, 1], got {}", eps);
  Tensor z = logits_in.contiguous();
  Tensor t = targets_in.contiguous();
  const int64_t N = z.shape()[0], V = z.shape()[1];
  CrossEntropyResult r;
  r.lse = Tensor::empty({N}, z.dtype());
  std::vector<double> row_loss(N, 0.0);
  const int32_t* tp = t.data<int32_t>();
  dispatch_floating(z.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* zp = z.data<T>();
    T* lp = r.lse.data<T>();
#pragma omp parallel for if (N * V >= kParallelGrain) schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const T* row = zp + i * V;
      // LSE = m + log sum exp(z - m): subtracting the max keeps exp() in range (logits of
      // 1e4 are fine). exp runs in T (float exp is cheaper than double); the sums accumulate in
      // double so V = 50k rows stay accurate.
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < V; ++j) m = std::max(m, row[j]);
      double s = 0, zsum = 0;
#pragma omp simd reduction(+ : s, zsum)
      for (int64_t j = 0; j < V; ++j) {
        s += vexp(row[j] - m);
        zsum += row[j];
      }
      const double lse = static_cast<double>(m) + std::log(s);
      lp[i] = static_cast<T>(lse);
      if (tp[i] == ignore_index) continue;
      // -sum_c q_c log p_c with log p_c = z_c - LSE, computed without forming log p.
      row_loss[i] = lse - (1 - eps) * static_cast<double>(row[tp[i]]) - eps * zsum / V;
    }
  });
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (tp[i] == ignore_index) continue;
    ++r.n_valid;
    total += row_loss[i];
  }
  switch (reduction) {
    case LossReduction::Mean:
      r.loss = Tensor::scalar(r.n_valid > 0 ? total / r.n_valid : 0.0, z.dtype());
      break;
    case LossReduction::Sum:
      r.loss = Tensor::scalar(total, z.dtype());
      break;
    case LossReduction::None: {
      r.loss = Tensor::empty({N}, z.dtype());
      dispatch_floating(z.dtype(), "cross_entropy", [&](auto tag) {
        using T = decltype(tag);
        T* o = r.loss.data<T>();
        for (int64_t i = 0; i < N; ++i) o[i] = static_cast<T>(row_loss[i]);
      });
      break;
    }
  }
  return r;
}

Tensor cross_entropy_backward(const Tensor& grad_in, const Tensor& logits_in,
                              const Tensor& targets_in, const Tensor& lse_in, double eps,
                              int32_t ignore_index, LossReduction reduction, int64_t n_valid) {
  TLM_PROFILE(Loss);
  Tensor z = logits_in.contiguous();
  Tensor t = targets_in.contiguous();
  Tensor lse = lse_in.contiguous();
  Tensor g = grad_in.contiguous().to(DType::F64);
  const int64_t N = z.shape()[0], V = z.shape()[1];
  Tensor dz = Tensor::empty({N, V}, z.dtype());
  const int32_t* tp = t.data<int32_t>();
  const double* gp = g.data<double>();
  const double uniform = eps / V;
  dispatch_floating(z.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* zp = z.data<T>();
    const T* lp = lse.data<T>();
    T* dp = dz.data<T>();
#pragma omp parallel for if (N * V >= kParallelGrain) schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      T* d = dp + i * V;
      if (tp[i] == ignore_index) {
        for (int64_t j = 0; j < V; ++j) d[j] = T(0);
        continue;
      }
      double scale = reduction == LossReduction::None  ? gp[i]
                     : reduction == LossReduction::Sum ? gp[0]
                                                       : gp[0] / static_cast<double>(n_valid);
      const T* row = zp + i * V;
      const T l = lp[i], sc = static_cast<T>(scale), u = static_cast<T>(uniform);
#pragma omp simd
      for (int64_t j = 0; j < V; ++j) d[j] = sc * (vexp(row[j] - l) - u);
      d[tp[i]] = static_cast<T>(d[tp[i]] - scale * (1 - eps));
    }
  });
  return dz;
}

}  // namespace tlm::kernels
