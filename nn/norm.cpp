#include "nn/norm.h"

#include "autograd/ops/norm.h"

namespace tlm::nn {

LayerNorm::LayerNorm(int64_t dim, bool with_bias, double eps_) : eps(eps_) {
  TLM_CHECK(dim > 0, "LayerNorm: dim must be positive, got {}", dim);
  register_parameter("weight", weight, Tensor::ones({dim}));
  register_parameter("bias", bias, with_bias ? Tensor::zeros({dim}) : Tensor());
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }

RMSNorm::RMSNorm(int64_t dim, bool gain, double eps_) : eps(eps_) {
  TLM_CHECK(dim > 0, "RMSNorm: dim must be positive, got {}", dim);
  register_parameter("weight", weight, gain ? Tensor::ones({dim}) : Tensor());
}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight, eps); }

std::unique_ptr<Norm> make_norm(NormType type, int64_t dim, bool bias, double eps) {
  return choice_of(type).impl(dim, bias, eps);  // the norm_type entry's factory (nn/choices.cpp)
}

int64_t norm_parameters(NormType type, int64_t dim, bool bias) {
  return dim * (type == NormType::LayerNorm && bias ? 2 : 1);
}

}  // namespace tlm::nn
