#include "tensor/kernels/optim_step.h"

#include "tensor/profile.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

// The target of an in-place update: same shape and dtype as the parameter, contiguous.
void check_target(const char* op, const char* what, const Tensor& param, const Tensor& t) {
  TLM_CHECK(t.defined(), "{}: the {} buffer is undefined", op, what);
  TLM_CHECK(t.shape() == param.shape() && t.dtype() == param.dtype(),
            "{}: {} {} does not match the parameter {}", op, what, t.str(), param.str());
  TLM_CHECK(t.is_contiguous(), "{}: {} must be contiguous, got {}", op, what, t.str());
}

void check_param_grad(const char* op, const Tensor& param, const Tensor& grad) {
  TLM_CHECK(param.defined() && grad.defined(), "{}: parameter and gradient must be defined", op);
  TLM_CHECK(param.is_contiguous(), "{}: parameter must be contiguous, got {}", op, param.str());
  TLM_CHECK(grad.shape() == param.shape() && grad.dtype() == param.dtype(),
            "{}: gradient {} does not match the parameter {}", op, grad.str(), param.str());
}

// sign with sign(+-0) = 0; a NaN stays NaN (so it reaches the parameter and is seen, not hidden).
template <class T>
inline T sign0(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
}

// The elements of several parameters in one parallel region: thread t of T takes the t-th of
// T contiguous ranges (whole cache lines) of every parameter, body(target, lo, hi). The same
// share as the kernels that wrote the gradients (rows split in halves: linear_grads, the
// sums of rows, the elementwise loops) and as this pass on every step (the moments are only
// ever touched here), so each core reads mostly what it wrote: here a core reads data the
// other one wrote at a third of the speed of its own (see kernels::linear_grads).
template <class Body>
void for_each_share(const std::vector<int64_t>& sizes, Body body) {
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
#pragma omp parallel if (total >= kParallelGrain)
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    for (size_t k = 0; k < sizes.size(); ++k) {
      const int64_t n = sizes[k];
      const int64_t share = ((n + T - 1) / T + 15) / 16 * 16;
      const int64_t lo = std::min(n, t * share), hi = std::min(n, lo + share);
      if (lo < hi) body(k, lo, hi);
    }
  }
}

void check_floating(const char* op, const Tensor& param) {
  TLM_CHECK(param.dtype() == DType::F32 || param.dtype() == DType::F64,
            "{}: parameter {} must be float32 or float64", op, param.str());
}

// The scalars are formed in double (as PyTorch forms them in Python) and rounded once to T;
// the per-element arithmetic follows torch.optim's operation order so fp32 results agree with
// PyTorch's to a few ulp.
template <class T>
void adamw_range(const AdamWTarget& a, const Tensor& grad, int64_t lo, int64_t hi) {
  const AdamWStep& s = a.s;
  Tensor param = a.param, m = a.m, v = a.v;  // handles: the targets are written through them
  T* p = param.data<T>();
  T* mp = m.data<T>();
  T* vp = v.data<T>();
  const T* g = grad.data<T>();
  const double bc1 = 1.0 - std::pow(s.beta1, static_cast<double>(s.t));
  const double bc2 = 1.0 - std::pow(s.beta2, static_cast<double>(s.t));
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T b1 = static_cast<T>(s.beta1), omb1 = static_cast<T>(1.0 - s.beta1);
  const T b2 = static_cast<T>(s.beta2), omb2 = static_cast<T>(1.0 - s.beta2);
  const T bc2_sqrt = static_cast<T>(std::sqrt(bc2));
  const T eps = static_cast<T>(s.eps);
  const T neg_step = static_cast<T>(-(s.lr / bc1));
  const T scale = static_cast<T>(s.grad_scale);
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) {
    const T gi = g[i] * scale;
    const T mi = mp[i] * b1 + omb1 * gi;
    const T vi = vp[i] * b2 + omb2 * gi * gi;
    const T denom = std::sqrt(vi) / bc2_sqrt + eps;
    p[i] = p[i] * decay + neg_step * (mi / denom);
    mp[i] = mi;
    vp[i] = vi;
  }
}

template <class T>
void lion_range(const LionTarget& a, const Tensor& grad, int64_t lo, int64_t hi) {
  const LionStep& s = a.s;
  Tensor param = a.param, m = a.m;
  T* p = param.data<T>();
  T* mp = m.data<T>();
  const T* g = grad.data<T>();
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T b1 = static_cast<T>(s.beta1), omb1 = static_cast<T>(1.0 - s.beta1);
  const T b2 = static_cast<T>(s.beta2), omb2 = static_cast<T>(1.0 - s.beta2);
  const T neg_lr = static_cast<T>(-s.lr);
  const T scale = static_cast<T>(s.grad_scale);
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) {
    const T gi = g[i] * scale;
    const T u = sign0(mp[i] * b1 + omb1 * gi);  // the old momentum, interpolated with beta1
    p[i] = p[i] * decay + neg_lr * u;
    mp[i] = mp[i] * b2 + omb2 * gi;  // the stored momentum uses beta2, afterwards
  }
}

}  // namespace

void adamw_step_many(const std::vector<AdamWTarget>& targets) {
  TLM_PROFILE(Optimizer);
  std::vector<Tensor> grads;
  std::vector<int64_t> sizes;
  for (const AdamWTarget& a : targets) {
    check_param_grad("adamw_step_", a.param, a.grad);
    check_target("adamw_step_", "exp_avg", a.param, a.m);
    check_target("adamw_step_", "exp_avg_sq", a.param, a.v);
    check_floating("adamw_step_", a.param);
    TLM_CHECK(a.s.t >= 1, "adamw_step_: step number t = {} must be >= 1", a.s.t);
    grads.push_back(a.grad.contiguous());
    sizes.push_back(a.param.numel());
  }
  for_each_share(sizes, [&](size_t t, int64_t lo, int64_t hi) {
    if (targets[t].param.dtype() == DType::F32) adamw_range<float>(targets[t], grads[t], lo, hi);
    else adamw_range<double>(targets[t], grads[t], lo, hi);
  });
  for (const AdamWTarget& a : targets) {
    Tensor(a.param).bump_version();
    Tensor(a.m).bump_version();
    Tensor(a.v).bump_version();
  }
}

void adamw_step_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s) {
  adamw_step_many({{param, grad, m, v, s}});
}

void lion_step_many(const std::vector<LionTarget>& targets) {
  TLM_PROFILE(Optimizer);
  std::vector<Tensor> grads;
  std::vector<int64_t> sizes;
  for (const LionTarget& a : targets) {
    check_param_grad("lion_step_", a.param, a.grad);
    check_target("lion_step_", "exp_avg", a.param, a.m);
    check_floating("lion_step_", a.param);
    grads.push_back(a.grad.contiguous());
    sizes.push_back(a.param.numel());
  }
  for_each_share(sizes, [&](size_t t, int64_t lo, int64_t hi) {
    if (targets[t].param.dtype() == DType::F32) lion_range<float>(targets[t], grads[t], lo, hi);
    else lion_range<double>(targets[t], grads[t], lo, hi);
  });
  for (const LionTarget& a : targets) {
    Tensor(a.param).bump_version();
    Tensor(a.m).bump_version();
  }
}

void lion_step_(Tensor& param, const Tensor& grad, Tensor& m, const LionStep& s) {
  lion_step_many({{param, grad, m, s}});
}

void sgd_step_(Tensor& param, const Tensor& grad_in, Tensor& buf, const SgdStep& s) {
  TLM_PROFILE(Optimizer);
  check_param_grad("sgd_step_", param, grad_in);
  const bool has_momentum = s.momentum != 0.0;
  if (has_momentum) check_target("sgd_step_", "momentum", param, buf);
  TLM_CHECK(has_momentum || !s.nesterov, "sgd_step_: nesterov needs momentum > 0");
  Tensor grad = grad_in.contiguous();
  const int64_t n = param.numel();
  dispatch_floating(param.dtype(), "sgd_step_", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    T* bp = has_momentum ? buf.data<T>() : nullptr;
    const T* g = grad.data<T>();
    const T wd = static_cast<T>(s.weight_decay);
    const T mu = static_cast<T>(s.momentum);
    const T neg_lr = static_cast<T>(-s.lr);
    const bool first = s.first, nesterov = s.nesterov;
#pragma omp parallel for simd if (n >= kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T d = g[i] + wd * p[i];  // L2 decay is part of the gradient (PyTorch SGD)
      if (bp) {
        const T b = first ? d : bp[i] * mu + d;
        bp[i] = b;
        d = nesterov ? d + mu * b : b;
      }
      p[i] = p[i] + neg_lr * d;
    }
  });
  param.bump_version();
  if (has_momentum) buf.bump_version();
}

}  // namespace tlm::kernels
