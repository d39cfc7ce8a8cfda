#include "nn/loss/cross_entropy.h"

#include "nn/loss/registry.h"

#include "autograd/ops/loss_cross_entropy.h"

namespace tlm::nn {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing,
                     int32_t ignore_index) {
  return fused_cross_entropy(logits, targets, label_smoothing, ignore_index,
                             kernels::LossReduction::Mean);
}

Tensor cross_entropy_per_item(const Tensor& logits, const Tensor& targets, double label_smoothing,
                              int32_t ignore_index) {
  return fused_cross_entropy(logits, targets, label_smoothing, ignore_index,
                             kernels::LossReduction::None);
}

Tensor cross_entropy_composed(const Tensor& logits, const Tensor& targets, double label_smoothing,
                              int32_t ignore_index) {
  detail::check_class_targets("cross_entropy", logits, targets, ignore_index);
  TLM_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
            "cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  Tensor logp = log_softmax(logits, -1);  // [N,V]
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor nll = neg(reshape(gather(logp, 1, reshape(safe, {safe.numel(), 1})), {safe.numel()}));
  Tensor per_row = nll;
  if (label_smoothing > 0) {
    Tensor smooth = neg(mean(logp, 1));  // -mean_c log p_c
    per_row = add(mul(nll, 1 - label_smoothing), mul(smooth, label_smoothing));
  }
  return detail::masked_mean(per_row, detail::valid_mask(targets, ignore_index, logits.dtype()));
}

namespace {
Tensor ce_entry(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return cross_entropy(z, y, 0.0, o.ignore_index);
}
Tensor smoothed_entry(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return cross_entropy(z, y, o.keys.number("label_smoothing"), o.ignore_index);
}
}  // namespace

LossType ce_loss_type() { return {"ce", "softmax cross-entropy", {}, &ce_entry}; }

LossType label_smoothing_loss_type() {
  return {"label_smoothing", "cross-entropy against (1-eps) onehot + eps/V",
          {EntryKey::number("label_smoothing", "0.1",
                            "loss = label_smoothing: epsilon of q = (1-eps) onehot + eps/V "
                            "(docs/methods.md, \"Cross-entropy and label smoothing\")",
                            KeyRange::half_open(0, 1))},
          &smoothed_entry};
}

}  // namespace tlm::nn
