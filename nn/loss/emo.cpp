#include "nn/loss/emo.h"

#include "nn/loss/registry.h"

#include <algorithm>
#include <cmath>

#include "nn/loss/cross_entropy.h"

namespace tlm::nn {
namespace {

// Rows of the frozen embedding, L2-normalised, as a constant in the logits' dtype.
Tensor normalized_embedding(const Tensor& logits, const Tensor& embedding) {
  TLM_CHECK(embedding.defined() && embedding.dim() == 2 && is_floating(embedding.dtype()) &&
                embedding.shape()[0] == logits.shape()[1],
            "emo_loss: logits {} x embedding {}: expected a floating cost embedding [V,D] with "
            "V = {}",
            shape_str(logits.shape()),
            embedding.defined() ? shape_str(embedding.shape()) : "undefined", logits.shape()[1]);
  NoGradGuard no_grad;  // frozen: no gradient ever flows into the cost
  Tensor e = embedding.detach().to(logits.dtype());
  Tensor norm = sqrt(sum(square(e), 1, true));
  return div(e, maximum(norm, Tensor::full({}, 1e-30, e.dtype())));
}

}  // namespace

Tensor emo_distance(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                    int32_t ignore_index) {
  detail::check_class_targets("emo_loss", logits, targets, ignore_index);
  Tensor e = normalized_embedding(logits, embedding);  // [V,D]
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor pe = matmul(softmax(logits, -1), e);   // [N,D] = p^T E
  Tensor et = index_select(e, safe);            // [N,D]
  Tensor emo = rsub(sum(mul(pe, et), 1), 1.0);  // [N]
  return where(detail::valid_mask(targets, ignore_index, logits.dtype()), emo,
               Tensor::zeros({}, logits.dtype()));
}

Tensor emo_loss_per_item(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                         const EmoOptions& options) {
  TLM_CHECK(options.max_weight > 0, "emo_loss: max_weight must be positive, got {}",
            options.max_weight);
  Tensor emo = emo_distance(logits, targets, embedding, options.ignore_index);
  Tensor ce = cross_entropy_per_item(logits, targets, 0.0, options.ignore_index);
  Tensor weight;  // sg(ce / (emo + 1e-10)), optionally capped
  {
    NoGradGuard no_grad;
    weight = div(ce, add(emo, 1e-10));
    if (std::isfinite(options.max_weight))
      weight = minimum(weight, Tensor::full({}, options.max_weight, weight.dtype()));
    weight = weight.detach();
  }
  return mul(add(ce, mul(weight, emo)), 0.5);
}

Tensor emo_loss(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                const EmoOptions& options) {
  Tensor per = emo_loss_per_item(logits, targets, embedding, options);
  return detail::masked_mean(per,
                             detail::valid_mask(targets, options.ignore_index, logits.dtype()));
}

namespace {
Tensor emo_entry(const Tensor& z, const Tensor& y, const LossOptions& o) {
  TLM_CHECK(o.emo_embedding.defined(),
            "lm_loss 'emo': LossOptions::emo_embedding is not set "
            "(expected the frozen cost embedding [V,D], V = {})",
            z.shape()[1]);
  EmoOptions e;
  e.ignore_index = o.ignore_index;
  const double cap = o.keys.number("emo_max_weight");
  e.max_weight = cap > 0 ? cap : std::numeric_limits<double>::infinity();  // 0: no cap
  return emo_loss(z, y, o.emo_embedding, e);
}
}  // namespace

LossType emo_loss_type() {
  return {"emo", "EMO + MLE with a frozen cost embedding",
          {EntryKey::number("emo_max_weight", "0",
                            "loss = emo: cap on the weight sg(ce/emo) (0: no cap, docs/methods.md, "
                            "\"EMO\"; DRSY/EMO uses 3); cost embedding = the LM head at step 0",
                            KeyRange::at_least(0))},
          &emo_entry,
          /*needs_cost_embedding=*/true};
}

}  // namespace tlm::nn
