#include "nn/loss/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

#include "nn/loss/cross_entropy.h"
#include "nn/loss/emo.h"
#include "nn/loss/focal.h"
#include "nn/loss/tailr.h"

namespace tlm::nn {
namespace {

Tensor ce(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return cross_entropy(z, y, 0.0, o.ignore_index);
}
Tensor smoothed(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return cross_entropy(z, y, o.label_smoothing, o.ignore_index);
}
Tensor focal(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return focal_loss(z, y, o.focal_gamma, o.focal_alpha, o.ignore_index);
}
Tensor tailr(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return tailr_loss(z, y, o.tailr_gamma, o.ignore_index);
}
Tensor emo(const Tensor& z, const Tensor& y, const LossOptions& o) {
  TLM_CHECK(o.emo_embedding.defined(),
            "lm_loss 'emo': LossOptions::emo_embedding is not set "
            "(expected the frozen cost embedding [V,D], V = {})",
            z.shape()[1]);
  EmoOptions e;
  e.ignore_index = o.ignore_index;
  e.max_weight = o.emo_max_weight;
  return emo_loss(z, y, o.emo_embedding, e);
}

// One line per loss.
const std::vector<std::pair<std::string, LmLossFn>>& registry() {
  // clang-format off
  static const std::vector<std::pair<std::string, LmLossFn>> table = {
      {"ce", &ce},
      {"label_smoothing", &smoothed},
      {"focal", &focal},
      {"tailr", &tailr},
      {"emo", &emo},
  };
  // clang-format on
  return table;
}

}  // namespace

std::vector<std::string> lm_loss_names() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : registry()) names.push_back(name);
  return names;
}

bool has_lm_loss(const std::string& name) {
  for (const auto& [n, fn] : registry())
    if (n == name) return true;
  return false;
}

Tensor lm_loss(const std::string& name, const Tensor& logits, const Tensor& targets,
               const LossOptions& options) {
  LmLossFn fn = nullptr;
  for (const auto& [n, f] : registry())
    if (n == name) fn = f;
  TLM_CHECK(fn != nullptr, "lm_loss: unknown loss '{}'; allowed: {}", name,
            fmt::join(lm_loss_names(), ", "));
  TLM_CHECK(logits.defined() && targets.defined() && logits.dim() >= 1 &&
                targets.dim() == logits.dim() - 1 &&
                std::equal(targets.shape().begin(), targets.shape().end(), logits.shape().begin()),
            "lm_loss '{}': logits {} x targets {}: expected logits [..., V] and targets [...]",
            name, logits.defined() ? shape_str(logits.shape()) : "undefined",
            targets.defined() ? shape_str(targets.shape()) : "undefined");
  if (logits.dim() == 2) return fn(logits, targets, options);
  const int64_t V = logits.shape().back();
  return fn(reshape(logits, {-1, V}), reshape(targets, {-1}), options);
}

}  // namespace tlm::nn
