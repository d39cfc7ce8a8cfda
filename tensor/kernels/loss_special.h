// Special functions used by losses: log Phi (the log of the standard normal CDF), stable
// over the whole real line, and its derivative phi/Phi (the inverse Mills ratio).
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

// y = log Phi(x), elementwise (computed in double, returned in x's dtype).
Tensor log_ndtr(const Tensor& x);
// dx = g * phi(x) / Phi(x)
Tensor log_ndtr_backward(const Tensor& grad, const Tensor& x);

// Scalar versions (double), for tests and small host-side computations.
double log_ndtr(double x);
double log_ndtr_derivative(double x);

}  // namespace tlm::kernels
