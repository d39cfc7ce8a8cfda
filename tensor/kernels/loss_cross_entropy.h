// Fused softmax cross-entropy with label smoothing and an ignore index: the hot path of LM
// training. One pass per row computes the log-sum-exp and the loss; the backward pass
// recomputes softmax from the saved per-row LSE, so nothing of size [N,V] is kept besides
// the logits themselves (which the LM head's matmul keeps anyway).
//
//   q = (1-eps) onehot(y) + eps/V
//   loss_i = -sum_c q_c log p_c = LSE(z_i) - (1-eps) z_{i,y} - eps mean(z_i)
//   dloss_i/dz_i = softmax(z_i) - q
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace tlm::kernels {

enum class LossReduction { Mean, Sum, None };

struct CrossEntropyResult {
  Tensor loss;          // 0-D (Mean/Sum) or [N] (None; 0 at ignored rows)
  Tensor lse;           // [N] LSE of each row (saved for backward)
  int64_t n_valid = 0;  // rows whose target is not ignore_index
};

// logits [N,V] (float32/float64, any strides), targets [N] int32 in [0,V) or ignore_index.
// Mean over zero valid rows is defined as 0 (PyTorch returns NaN), so a fully masked batch
// contributes no gradient instead of poisoning the step.
CrossEntropyResult cross_entropy_forward(const Tensor& logits, const Tensor& targets,
                                         double label_smoothing, int32_t ignore_index,
                                         LossReduction reduction);

// dlogits [N,V] = scale_i * (softmax(z_i) - q_i), zero rows where the target is ignored.
// grad is 0-D (Mean: scale = g / n_valid, Sum: scale = g) or [N] (None: scale = g_i).
Tensor cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& targets,
                              const Tensor& lse, double label_smoothing, int32_t ignore_index,
                              LossReduction reduction, int64_t n_valid);

}  // namespace tlm::kernels
