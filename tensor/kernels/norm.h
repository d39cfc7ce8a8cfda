// Fused normalisation kernels over the last axis (size d), forward and backward.
//
//   LayerNorm: y = (x - mu) * rstd * gamma + beta,  mu = mean(x),  rstd = 1/sqrt(var(x) + eps)
//   RMSNorm:   y = x * rstd * gamma,                rstd = 1/sqrt(mean(x^2) + eps)
//
// gamma [d] and beta [d] are optional (an undefined Tensor = absent, i.e. 1 and 0). The
// forward returns mean [rows] and rstd [rows] (rows = numel / d) for the backward. Statistics
// are accumulated in double so float32 rows of any width keep their accuracy. x may be
// strided; outputs are fresh and contiguous.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

// Returns y [..., d]; writes mean [rows] and rstd [rows].
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                  Tensor* mean, Tensor* rstd);
// Any of dx / dgamma / dbeta may be null (not wanted).
void layer_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor* dx, Tensor* dgamma,
                         Tensor* dbeta);

// Returns y [..., d]; writes rstd [rows].
Tensor rms_norm(const Tensor& x, const Tensor& gamma, double eps, Tensor* rstd);
void rms_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& gamma,
                       const Tensor& rstd, Tensor* dx, Tensor* dgamma);

}  // namespace tlm::kernels
