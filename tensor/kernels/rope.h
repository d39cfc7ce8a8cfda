// Rotary position embedding kernel: rotates adjacent pairs (2i, 2i+1) of the last axis.
//
//   out[.., t, 2i]   = x[.., t, 2i] * cos[p, i] - x[.., t, 2i+1] * sin[p, i]
//   out[.., t, 2i+1] = x[.., t, 2i] * sin[p, i] + x[.., t, 2i+1] * cos[p, i],   p = offset + t
//
// x is [..., T, D] (any strides), cos/sin are tables [P, D/2] of x's dtype with P >= offset+T.
// `inverse` rotates by -angle (the backward). The output is fresh and contiguous.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t offset, bool inverse);

}  // namespace tlm::kernels
