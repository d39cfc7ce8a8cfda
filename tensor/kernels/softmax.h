// Numerically stable softmax and log-softmax along one axis, forward and backward.
//   softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),  m = max_j x_j  (subtracting m avoids
//   overflow and changes nothing mathematically). Fully masked rows (all -inf) give zeros.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);
// dx = y * (g - sum(g * y))   (y = softmax output)
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis);
// dx = g - exp(y) * sum(g)    (y = log_softmax output)
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t axis);

}  // namespace tlm::kernels
