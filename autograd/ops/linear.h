// The affine map of a Linear layer as one op: y = x W^T + b.
//
//   Tensor y = linear(x, weight, bias);   // x [..., in], weight [out, in], bias [out] or undefined
//
// Equal to add(matmul(x, transpose(weight)), bias), but the bias is written into the output
// before one sgemm accumulates onto it (beta = 1): no second pass over the output and no
// separate add node. Backward: dx = g W, dW = g^T x (the two products run concurrently, as in
// matmul), db = the column sums of g.
#pragma once

#include "tensor/tensor.h"

namespace tlm {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace tlm
