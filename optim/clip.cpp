#include "optim/clip.h"

#include <algorithm>
#include <cmath>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/reduce.h"

namespace tlm::optim {

namespace {
// A gradient is finite iff its sum of squares (in double) is: a float32 value squared cannot
// overflow a double, so only a NaN or inf makes the sum non-finite.
bool finite_grad(const Tensor& g) { return std::isfinite(kernels::sum_squares(g)); }

void check_max_norm(double max_norm) {
  TLM_CHECK(std::isfinite(max_norm) && max_norm > 0,
            "clip_grad_norm: max_norm = {} must be a finite number > 0", max_norm);
}
}  // namespace

double grad_norm(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  return std::sqrt(kernels::sum_squares_many(grads));
}

double clip_coefficient(double norm, double max_norm) {
  check_max_norm(max_norm);
  return std::min(1.0, max_norm / (norm + 1e-6));
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  check_max_norm(max_norm);  // before any work
  const double norm = grad_norm(params);
  if (!std::isfinite(norm)) return norm;
  const double coef = clip_coefficient(norm, max_norm);
  if (coef >= 1.0) return norm;  // PyTorch clamps the factor to 1: a no-op
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    kernels::binary_(g, Tensor::scalar(coef, g.dtype()), kernels::Binary::Mul);
  }
  return norm;
}

bool grads_finite(const std::vector<Tensor>& params) {
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined() && !finite_grad(g)) return false;
  }
  return true;
}

void check_grads_finite(const std::vector<std::pair<std::string, Tensor>>& named_params) {
  for (const auto& [name, p] : named_params) {
    Tensor g = p.grad();
    TLM_CHECK(!g.defined() || finite_grad(g),
              "check_grads_finite: the gradient of '{}' {} holds a NaN or inf", name, g.str());
  }
}

}  // namespace tlm::optim
