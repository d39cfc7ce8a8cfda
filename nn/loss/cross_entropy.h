// Softmax cross-entropy over logits, with label smoothing and an ignore index — the LM loss.
//
//   Tensor loss = nn::cross_entropy(logits /*[N,V]*/, targets /*[N] int32*/, 0.1);
//   loss.backward();
//
// q = (1-eps) onehot(y) + eps/V (PyTorch's convention: the target gets 1-eps+eps/V),
//   loss = mean over non-ignored rows of -sum_c q_c log p_c
//        = (1-eps)(LSE(z) - z_y) + eps (LSE(z) - mean(z)),      d loss_i / dz = softmax(z) - q.
// Label smoothing: Szegedy et al., "Rethinking the Inception Architecture", arXiv:1512.00567.
// `cross_entropy` is one fused kernel (autograd/ops/loss_cross_entropy.h); rows whose target
// is `ignore_index` are skipped, and a batch with no valid row gives 0 (PyTorch: NaN).
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

// Mean over non-ignored rows -> 0-D.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing = 0.0,
                     int32_t ignore_index = kIgnoreIndex);
// Per-row losses [N] (0 at ignored rows), same fused kernel.
Tensor cross_entropy_per_item(const Tensor& logits, const Tensor& targets,
                              double label_smoothing = 0.0, int32_t ignore_index = kIgnoreIndex);
// The same loss composed from log_softmax/gather/mean (no fused kernel): the reference the
// fused op is tested against, and a template for losses that need log p.
Tensor cross_entropy_composed(const Tensor& logits, const Tensor& targets,
                              double label_smoothing = 0.0, int32_t ignore_index = kIgnoreIndex);

// The registry entries (nn/loss/registry.h): "ce" (eps = 0) and "label_smoothing" (its key).
struct LossType;
LossType ce_loss_type();
LossType label_smoothing_loss_type();

}  // namespace tlm::nn
