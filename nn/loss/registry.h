// Language-model losses selectable by name (the trainer's `loss = ...` config key).
//
//   nn::LossOptions opt;                      // defaults below
//   opt.label_smoothing = 0.1;
//   Tensor loss = nn::lm_loss("label_smoothing", logits /*[B,T,V] or [N,V]*/,
//                             targets /*[B,T] or [N] int32*/, opt);
//
// Every entry has the same signature and reduces with a mean over non-ignored tokens.
// Adding a loss here: its file pair in nn/loss/, its test, and a wrapper plus a table line in
// registry.cpp (a hyperparameter also needs a LossOptions field). Selecting it from `tlm train`
// takes more files today (the config lists the names and keys): docs/extending.md counts them.
//   ce               softmax cross-entropy (label_smoothing ignored: always 0)
//   label_smoothing  cross-entropy with eps = label_smoothing
//   focal            multi-class focal loss, -alpha (1-p_t)^gamma log p_t
//   tailr            TaiLr, -log(gamma + (1-gamma) p_t)/(1-gamma)
//   emo              EMO + MLE with the frozen cost embedding `emo_embedding` [V,D]
// Memory: ce / label_smoothing are one fused kernel (only [N] per-row values besides the
// logits); focal, tailr and emo are composed from ops and hold a few [N,V] temporaries.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "nn/loss/common.h"

namespace tlm::nn {

struct LossOptions {
  double label_smoothing = 0.1;  // "label_smoothing" (0.1 when on)
  double focal_gamma = 2.0;      // "focal" (RetinaNet's best)
  double focal_alpha = 1.0;      // "focal": a plain scale in the multi-class form
  double tailr_gamma = 1e-7;     // "tailr" (the paper's value for training from scratch)
  double emo_max_weight = std::numeric_limits<double>::infinity();  // "emo": cap on sg(ce/emo)
  int32_t ignore_index = kIgnoreIndex;
  Tensor emo_embedding;  // [V,D] "emo": frozen cost embedding (e.g. the LM head at start)
};

using LmLossFn = Tensor (*)(const Tensor& logits /*[N,V]*/, const Tensor& targets /*[N]*/,
                            const LossOptions& options);

// logits [..., V], targets [...] (int32); the leading dimensions are flattened into N.
// An unknown name throws tlm::Error listing the registered names.
Tensor lm_loss(const std::string& name, const Tensor& logits, const Tensor& targets,
               const LossOptions& options = {});
std::vector<std::string> lm_loss_names();
bool has_lm_loss(const std::string& name);

}  // namespace tlm::nn
