// Normalisation layers over the last axis (docs/methods.md, "Norms and their placement"), on the
// fused ops of autograd/ops/norm.h.
//
//   nn::LayerNorm ln(C);                              // gamma = 1, beta = 0, eps 1e-5
//   nn::LayerNorm ln(C, /*bias=*/false);              // nanoGPT's bias-free LayerNorm
//   nn::RMSNorm rms(C, /*gain=*/false, 1e-6);          // RoFormerV2: no parameters at all
//   auto norm = nn::make_norm(nn::NormType::RMSNorm, C, true, 1e-5);
#pragma once

#include <memory>

#include "nn/choices.h"
#include "nn/module.h"

namespace tlm::nn {

class Norm : public Module {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;  // [..., C] -> [..., C]
};

class LayerNorm : public Norm {
 public:
  explicit LayerNorm(int64_t dim, bool bias = true, double eps = 1e-5);
  Tensor forward(const Tensor& x) const override;

  Tensor weight;  // [C] gamma
  Tensor bias;    // [C] beta, undefined when bias = false
  double eps;
};

class RMSNorm : public Norm {
 public:
  explicit RMSNorm(int64_t dim, bool gain = true, double eps = 1e-6);
  Tensor forward(const Tensor& x) const override;

  Tensor weight;  // [C] gamma, undefined when gain = false
  double eps;
};

// `bias` is the LayerNorm bias (RMSNorm has none; it keeps its gain).
std::unique_ptr<Norm> make_norm(NormType type, int64_t dim, bool bias, double eps);
// The parameters of make_norm(type, dim, bias, eps): LayerNorm dim (+ dim with bias), RMSNorm dim
// (its gain) -- what the size and memory estimates count without building one.
int64_t norm_parameters(NormType type, int64_t dim, bool bias);

}  // namespace tlm::nn
