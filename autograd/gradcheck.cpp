#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/ops.h"

namespace tlm {
namespace {

// Element `flat` (row-major position) of a possibly strided float64 tensor.
double& element(Tensor& t, int64_t flat) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    int64_t idx = flat % t.shape()[d];
    flat /= t.shape()[d];
    off += idx * t.strides()[d];
  }
  return t.data<double>()[off];
}

}  // namespace

GradcheckResult gradcheck(const GradFn& fn, const std::vector<Tensor>& inputs_in,
                          const GradcheckOptions& opt) {
  GradcheckResult result;
  std::vector<Tensor> inputs;
  for (const Tensor& t : inputs_in) {
    TLM_CHECK(t.dtype() != DType::F32, "gradcheck: pass float64 inputs (got {}) so the "
              "tolerance can be tight", t.str());
    // Fresh leaves that keep the caller's strides (non-contiguous inputs stay non-contiguous).
    Tensor leaf = t.detach();
    if (t.dtype() == DType::F64) leaf.set_requires_grad(true);
    inputs.push_back(leaf);
  }

  Tensor probe;
  {
    NoGradGuard no_grad;
    probe = fn(inputs);
  }
  Rng rng(opt.seed);
  Tensor weights = Tensor::randn(probe.shape(), rng, 1.0, DType::F64);
  auto loss_value = [&]() {
    NoGradGuard no_grad;
    return sum(mul(fn(inputs), weights)).item();
  };

  Tensor loss = sum(mul(fn(inputs), weights));
  loss.backward();

  int reported = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (x.dtype() != DType::F64) continue;
    Tensor analytic = x.grad();
    std::vector<double> ga = analytic.defined() ? analytic.to_vector<double>()
                                                : std::vector<double>(x.numel(), 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double& v = element(x, i);
      const double orig = v;
      v = orig + opt.eps;
      double lp = loss_value();
      v = orig - opt.eps;
      double lm = loss_value();
      v = orig;
      double numeric = (lp - lm) / (2 * opt.eps);
      double err = std::abs(ga[i] - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
        result.ok = false;
        if (reported++ < 5)
          result.message += fmt::format("input {} {} element {}: analytic {:.10g}, numeric {:.10g}\n",
                                        k, shape_str(x.shape()), i, ga[i], numeric);
      }
    }
  }
  return result;
}

}  // namespace tlm
