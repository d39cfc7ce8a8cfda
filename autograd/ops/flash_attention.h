// Fused causal softmax attention (FlashAttention, arXiv:2205.14135): the tiled kernel of
// tensor/kernels/flash_attention.h as a differentiable op.
//
//   Tensor y = flash_attention(q, k, v, row_scales(T, 0, opts));  // [B,H,T,Dv]
//
// Equal to matmul(causal_softmax(c * matmul(q, transpose(k))), v) with per-row scale c_i,
// without ever storing the [T, T] scores: it saves q, k, v, its output and one log-sum-exp
// per row, and the backward recomputes the probabilities tile by tile.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tlm {

// q [B,H,Tq,Dk], k [B,H,Tk,Dk], v [B,H,Tk,Dv] with Tk = offset + Tq; row_scale has Tq values.
Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const std::vector<double>& row_scale, int64_t offset = 0,
                       int64_t window = 0);

}  // namespace tlm
