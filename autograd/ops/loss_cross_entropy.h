// The fused softmax cross-entropy op (forward + backward in one kernel pair, see
// tensor/kernels/loss_cross_entropy.h). nn/loss/cross_entropy.h is the user-facing entry.
//
//   Tensor loss = fused_cross_entropy(logits /*[N,V]*/, targets /*[N] int32*/, 0.1, -100,
//                                     kernels::LossReduction::Mean);
#pragma once

#include "tensor/kernels/loss_cross_entropy.h"
#include "tensor/tensor.h"

namespace tlm {

Tensor fused_cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing,
                           int32_t ignore_index, kernels::LossReduction reduction);

}  // namespace tlm
