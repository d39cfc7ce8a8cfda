// Fused normalisation ops (docs/methods.md, "Norms and their placement").
//
// LayerNorm, arXiv:1607.06450:  xhat = (x - mu) * rstd,  y = xhat * gamma + beta
//   backward with g' = g * gamma:  dx = rstd * (g' - mean(g') - xhat * mean(g' * xhat))
//                                  dgamma = sum_rows g * xhat,  dbeta = sum_rows g
// RMSNorm, arXiv:1910.07467:    xhat = x * rstd,  rstd = 1/sqrt(mean(x^2) + eps),  y = xhat * gamma
//   backward:                      dx = rstd * (g' - xhat * mean(g' * xhat)),  dgamma as above
// The kernels are in tensor/kernels/norm.cpp.
#include "autograd/ops/norm.h"

#include "autograd/node.h"
#include "tensor/kernels/norm.h"

namespace tlm {
namespace {

struct LayerNormBackward : autograd::Node {
  autograd::SavedTensor x{this};      // [..., C]
  autograd::SavedTensor gamma{this, autograd::SavedTensor::Format::Fp32};  // [C] or undefined
  autograd::SavedTensor mean{this, autograd::SavedTensor::Format::Fp32};   // [rows]
  autograd::SavedTensor rstd{this, autograd::SavedTensor::Format::Fp32};   // [rows]
  bool need_x = false, need_gamma = false, need_beta = false;
  const char* name() const override { return "layer_norm"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx, dgamma, dbeta;
    kernels::layer_norm_backward(g, x.get(), gamma.get(), mean.get(), rstd.get(),
                                 need_x ? &dx : nullptr, need_gamma ? &dgamma : nullptr,
                                 need_beta ? &dbeta : nullptr);
    return {dx, dgamma, dbeta};
  }
};

struct RMSNormBackward : autograd::Node {
  autograd::SavedTensor x{this};      // [..., C]
  autograd::SavedTensor gamma{this, autograd::SavedTensor::Format::Fp32};  // [C] or undefined
  autograd::SavedTensor rstd{this, autograd::SavedTensor::Format::Fp32};   // [rows]
  bool need_x = false, need_gamma = false;
  const char* name() const override { return "rms_norm"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx, dgamma;
    kernels::rms_norm_backward(g, x.get(), gamma.get(), rstd.get(), need_x ? &dx : nullptr,
                               need_gamma ? &dgamma : nullptr);
    return {dx, dgamma};
  }
};

bool wants(const Tensor& t) { return t.defined() && t.requires_grad(); }

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  TLM_CHECK(eps >= 0, "layer_norm: eps must be >= 0, got {}", eps);
  Tensor mean, rstd;
  Tensor y = kernels::layer_norm(x, gamma, beta, eps, &mean, &rstd);
  if (autograd::needs_grad({&x, &gamma, &beta})) {
    auto node = std::make_shared<LayerNormBackward>();
    node->need_x = wants(x);
    node->need_gamma = wants(gamma);
    node->need_beta = wants(beta);
    node->x.save(x);
    node->gamma.save(gamma);
    node->mean.save(mean);
    node->rstd.save(rstd);
    autograd::record(node, y, {&x, &gamma, &beta});
  }
  return y;
}

Tensor rms_norm(const Tensor& x, const Tensor& gamma, double eps) {
  TLM_CHECK(eps >= 0, "rms_norm: eps must be >= 0, got {}", eps);
  Tensor rstd;
  Tensor y = kernels::rms_norm(x, gamma, eps, &rstd);
  if (autograd::needs_grad({&x, &gamma})) {
    auto node = std::make_shared<RMSNormBackward>();
    node->need_x = wants(x);
    node->need_gamma = wants(gamma);
    node->x.save(x);
    node->gamma.save(gamma);
    node->rstd.save(rstd);
    autograd::record(node, y, {&x, &gamma});
  }
  return y;
}

}  // namespace tlm
