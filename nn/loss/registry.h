// Language-model losses selectable by name (the trainer's `loss = ...` config key): one
// nn::Registry (nn/registry.h) whose entries name their hyperparameters as config keys.
//
//   nn::LossOptions opt;                              // unset keys take their defaults
//   opt.keys.set("label_smoothing", 0.2);
//   Tensor loss = nn::lm_loss("label_smoothing", logits /*[B,T,V] or [N,V]*/,
//                             targets /*[B,T] or [N] int32*/, opt);
//
// Every entry has the same signature (LmLossFn) and reduces with a mean over non-ignored tokens.
//   ce               softmax cross-entropy
//   label_smoothing  cross-entropy with eps = label_smoothing              (key label_smoothing)
//   focal            multi-class focal loss, -alpha (1-p_t)^gamma log p_t   (focal_gamma, focal_alpha)
//   tailr            TaiLr, -log(gamma + (1-gamma) p_t)/(1-gamma)          (tailr_gamma)
//   emo              EMO + MLE with the frozen cost embedding `emo_embedding` [V,D] (emo_max_weight;
//                    its entry says needs_cost_embedding)
// Memory: ce / label_smoothing are one fused kernel (only [N] per-row values besides the
// logits); focal, tailr and emo are composed from ops and hold a few [N,V] temporaries.
//
// Adding a loss: its file pair in nn/loss/ defines the function and its entry (a LossType: name,
// help, keys with type/default/range/help, function), its test, and one line in the list of
// registry.cpp:loss_registry. The config's `loss` choices and its keys come from this registry
// (train/io/config.cpp), so nothing in train/ changes (docs/extending.md, section 2).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nn/entry_key.h"
#include "nn/loss/common.h"
#include "nn/registry.h"

namespace tlm::nn {

struct LossOptions {
  KeyValues keys;  // the loss's hyperparameters by config key ("focal_gamma"); unset: the default
  int32_t ignore_index = kIgnoreIndex;
  Tensor emo_embedding;  // [V,D] "emo": frozen cost embedding (e.g. the LM head at start)
};

// logits [N,V], targets [N] int32. options.keys holds every key of the entry (lm_loss fills the
// defaults in before the call).
using LmLossFn = Tensor (*)(const Tensor& logits, const Tensor& targets, const LossOptions& options);

struct LossType {
  std::string name;            // the value of the config key `loss`
  std::string help;            // one line
  std::vector<EntryKey> keys;  // its hyperparameters, each a config key of group "loss"
  LmLossFn fn = nullptr;
  // The loss reads LossOptions::emo_embedding, a frozen cost embedding [V,C]: the trainer (and
  // `tlm diag grads`) take it from the LM head as a run starts with this loss and keep it in
  // checkpoints (tensor "emo.cost_embedding"), so nothing in train/ names the loss (emo).
  bool needs_cost_embedding = false;
};

// The losses, in the order of the list in registry.cpp.
Registry<LossType>& loss_registry();

// Registers a loss from a program's own file at static initialisation (a file-scope constant
// of this type): examples/new_loss_poly1.cpp. Not for files of the library (see registry.cpp).
struct RegisterLoss {
  explicit RegisterLoss(LossType type) { loss_registry().add(std::move(type)); }
};

// logits [..., V], targets [...] (int32); the leading dimensions are flattened into N. The
// entry's keys missing from options.keys take their defaults; a value out of its range, or an
// unknown name, throws tlm::Error naming the key (or listing the registered names).
Tensor lm_loss(const std::string& name, const Tensor& logits, const Tensor& targets,
               const LossOptions& options = {});
std::vector<std::string> lm_loss_names();
bool has_lm_loss(const std::string& name);

}  // namespace tlm::nn
