// Multi-label "softmax + cross-entropy" (ZLPR), for hard and soft labels.
//
//   Tensor l = nn::zlpr_loss(scores /*[N,C...]*/, labels /*same shape, int32 0/1*/, mask);
//   // predict: label i is on where scores_i > 0  (soft version: probability sigmoid(2 s_i))
//
// Hard labels (Su, https://kexue.fm/archives/7359; ZLPR, arXiv:2208.02955): positives O+,
// negatives O-, threshold fixed at score 0,
//   l = log(1 + sum_{i in O-} e^{s_i}) + log(1 + sum_{j in O+} e^{-s_j})
//     = LSE([0, s_{O-}]) + LSE([0, -s_{O+}]).
// Soft labels t in [0,1] (https://kexue.fm/archives/9064):
//   l = LSE([0, -s + log t]) + LSE([0, s + log(1 - t)]),
// with t clipped to [eps, 1-eps] inside the logs and the terms whose original t < eps (first
// LSE) or t > 1-eps (second LSE) skipped — a masked score of -1e7 plus log eps would otherwise
// make a huge positive term. It reduces to the hard loss for 0/1 labels (up to O(eps)).
// Each row (first axis) is one sample; the remaining axes are flattened into its label set
// (GlobalPointer's [B, heads, L, L] works as is). `mask` (optional, int32 or floating,
// nonzero = keep) broadcasts to the scores; masked entries are skipped, never multiplied, so
// -inf or -1e12 scores there are harmless. Mean over rows with at least one kept entry.
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

Tensor zlpr_loss(const Tensor& scores, const Tensor& labels, const Tensor& mask = Tensor());
// Per-row losses [N] (0 for fully masked rows).
Tensor zlpr_loss_per_item(const Tensor& scores, const Tensor& labels,
                          const Tensor& mask = Tensor());
Tensor soft_zlpr_loss(const Tensor& scores, const Tensor& targets, const Tensor& mask = Tensor(),
                      double eps = 1e-7);
// Predicted label set: int32 1 where score > 0 (the fixed threshold), else 0. Not differentiable.
Tensor zlpr_predict(const Tensor& scores);
// The soft-label model's probability: sigma(2 s) (its optimum is t e^{-s} = (1-t) e^{s}).
Tensor soft_zlpr_probability(const Tensor& scores);

namespace detail {
// Row-flattened keep mask [N, K] (floating, 1 = keep) for scores [N, ...] and an optional mask.
Tensor row_keep_mask(const char* loss, const Tensor& scores, const Tensor& mask);
// 1 for rows with at least one kept entry, [N].
Tensor nonempty_rows(const Tensor& keep2d);
}  // namespace detail

}  // namespace tlm::nn
