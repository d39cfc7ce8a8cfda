// Shared pieces of the loss set (nn/loss/*): input checks with messages that name the loss,
// valid-item masks, the masked mean every loss reduces with, and LSE([0, x_kept]) — the
// "append a zero, skip masked entries" log-sum-exp used by ZLPR, CoSENT and friends.
//
//   Tensor keep = valid_mask(targets, kIgnoreIndex, logits.dtype());   // [N] 1/0
//   Tensor loss = masked_mean("focal", per_item, keep);                // 0-D
#pragma once

#include <cstdint>

#include "autograd/ops.h"

namespace tlm::nn {

// The ignore index of every hard-label loss (PyTorch's default).
constexpr int32_t kIgnoreIndex = -100;

namespace detail {

// logits [N,C] (floating) and targets [N] int32 with ids in [0,C) or ignore_index.
void check_class_targets(const char* loss, const Tensor& logits, const Tensor& targets,
                         int32_t ignore_index);
// Same-shape int32 labels in {0,1} or ignore_index (binary / multi-label hard labels).
void check_binary_labels(const char* loss, const Tensor& logits, const Tensor& labels,
                         int32_t ignore_index);
// A mask (int32 or floating, nonzero = keep) that broadcasts to `shape`.
void check_mask(const char* loss, const Shape& shape, const Tensor& mask);

// 1 where targets != ignore_index, else 0, as `dtype` (same shape as targets).
Tensor valid_mask(const Tensor& targets, int32_t ignore_index, DType dtype);
// targets with ignore_index replaced by 0, so gather/index_select stay in range (the
// ignored items are then dropped by the masked mean).
Tensor safe_targets(const Tensor& targets, int32_t ignore_index);
// sum(where(keep, x, 0)) / max(count(keep), 1): masked items are *selected out* (never
// multiplied by 0, so a NaN/inf there cannot leak), and an empty batch gives 0, not NaN.
Tensor masked_mean(const Tensor& x, const Tensor& keep);
// LSE([0, x_j for kept j]) over `axis` (the axis is removed). Skipped entries become -inf
// before the LSE, which contributes exactly exp(-inf) = 0 to the value and 0 to the
// gradient; the appended 0 keeps every lane finite even when all entries are skipped.
Tensor lse_with_zero(const Tensor& x, const Tensor& keep, int64_t axis = -1);
// log p_t = log_softmax(z)[t] for each row: logits [N,C], targets [N] (in range) -> [N].
Tensor target_log_prob(const Tensor& logits, const Tensor& safe_targets);

}  // namespace detail
}  // namespace tlm::nn
