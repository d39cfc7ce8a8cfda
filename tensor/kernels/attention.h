// Fused causal softmax for attention scores: scale, causal (and optional sliding-window)
// mask and softmax in one pass, forward and backward.
//
// x is [..., Tq, Tk]. Query row i sits at absolute position p = offset + i (offset = number
// of cached tokens before it, for a KV cache) and sees keys j with lo(p) <= j <= p, where
// lo(p) = 0, or p - window + 1 when window > 0. Visible entries get softmax(scale * x);
// every other entry is exactly 0 and costs nothing (no exp of -inf).
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

Tensor causal_softmax(const Tensor& x, double scale, int64_t offset, int64_t window);
// dx = scale * y * (g - sum_visible(g * y)), 0 outside the visible band.
Tensor causal_softmax_backward(const Tensor& grad, const Tensor& y, double scale,
                               int64_t offset, int64_t window);

}  // namespace tlm::kernels
