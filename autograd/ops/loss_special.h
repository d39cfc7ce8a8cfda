// Differentiable special functions for the loss set.
//
//   Tensor y = log_ndtr(x);   // log Phi(x), finite for any finite x (Phi(-1e4) underflows,
//                             // its log is -5e7); dy/dx = phi(x)/Phi(x)
#pragma once

#include "tensor/tensor.h"

namespace tlm {

Tensor log_ndtr(const Tensor& x);

}  // namespace tlm
