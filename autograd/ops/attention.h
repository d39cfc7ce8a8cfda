// Fused causal softmax of attention scores (scale + causal mask + softmax in one kernel).
//
//   Tensor att = causal_softmax(matmul(q, transpose(k)), 1 / std::sqrt(D));   // [B,H,T,T]
//   Tensor att = causal_softmax(scores, scale, /*offset=*/n_cached);          // KV cache: [B,H,T,n+T]
//
// Equal to softmax(masked_fill(scale * x, future, -inf)) but reads each score once, skips
// the masked exps, and saves only its output for the backward.
#pragma once

#include "tensor/tensor.h"

namespace tlm {

// x [..., Tq, Tk]; query i is at absolute position offset + i and sees keys j <= offset + i
// (and j > offset + i - window when window > 0: sliding-window attention).
Tensor causal_softmax(const Tensor& x, double scale, int64_t offset = 0, int64_t window = 0);

}  // namespace tlm
