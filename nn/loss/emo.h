// EMO: Earth Mover Distance Optimization for language models, combined with MLE.
//
//   Tensor E = lm_head_weight_at_start.detach().clone();   // [V,D], frozen cost embedding
//   Tensor l = nn::emo_loss(logits /*[N,V]*/, targets /*[N] int32*/, E);
//
// EMO (Ren et al., arXiv:2310.04691, code github.com/DRSY/EMO; Su, kexue.fm/archives/9797).
// With a one-hot target the transport plan is forced, so EMD(p, delta_t) = sum_i p_i c_{i,t};
// with the cost c_{i,t} = 1 - e_i^T e_t from L2-normalised rows e_i of a frozen embedding,
//   emo = 1 - < sum_i p_i e_i , e_t >,        p = softmax(z)
// (p^T E first: one [N,V]x[V,D] matmul). Per token, combined with MLE as the official code:
//   l_tok = 1/2 (ce + sg(ce / (emo + 1e-10)) * emo)
// then a mean over non-ignored tokens. The stop-gradient weight makes both terms equal in
// value, so the gradient is 1/2 (grad ce + (ce/emo) grad emo). d emo / dz_i = -p_i (c_i - sum_j
// p_j c_j) with c_i = e_i^T e_t. `max_weight` caps sg(ce/emo): no cap by default (+inf,
// docs/methods.md, "EMO"); the EMOLoss function in DRSY/EMO (mode 1) uses min(., 3.0).
// The embedding is always detached, so passing the live LM-head weight gives the repo's
// "adaptive" variant. Not suitable from scratch (needs meaningful embeddings): fine-tune an
// MLE model with it.
#pragma once

#include <limits>

#include "nn/loss/common.h"

namespace tlm::nn {

struct EmoOptions {
  int32_t ignore_index = kIgnoreIndex;
  double max_weight = std::numeric_limits<double>::infinity();  // cap on sg(ce/emo)
};

// Mean of l_tok over non-ignored tokens -> 0-D.
Tensor emo_loss(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                const EmoOptions& options = {});
// l_tok per token [N] (0 at ignored tokens).
Tensor emo_loss_per_item(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                         const EmoOptions& options = {});
// The transport cost alone, emo = 1 - <p^T E, e_t> per token [N] (0 at ignored tokens).
Tensor emo_distance(const Tensor& logits, const Tensor& targets, const Tensor& embedding,
                    int32_t ignore_index = kIgnoreIndex);

// The registry entry (nn/loss/registry.h): "emo", key emo_max_weight (0: no cap); reads
// LossOptions::emo_embedding (needs_cost_embedding = true).
struct LossType;
LossType emo_loss_type();

}  // namespace tlm::nn
