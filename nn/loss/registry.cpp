#include "nn/loss/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "nn/loss/cross_entropy.h"
#include "nn/loss/emo.h"
#include "nn/loss/focal.h"
#include "nn/loss/tailr.h"

namespace tlm::nn {

// The list: one line per loss, each entry defined in its loss's own file. An explicit list
// rather than a registration constant in each file: this folder is a static library, and the
// linker drops an object file that nothing references -- a constant that registers itself
// would be dropped with it, and the loss would silently be missing from `tlm train`. Calling
// the entry function from here references the file. (A program's own file, which is always
// linked, may register with loss_registry().add(...) instead: examples/new_loss_poly1.cpp.)
Registry<LossType>& loss_registry() {
  static Registry<LossType> registry = [] {
    Registry<LossType> r("loss");
    r.add(ce_loss_type());
    r.add(label_smoothing_loss_type());
    r.add(focal_loss_type());
    r.add(tailr_loss_type());
    r.add(emo_loss_type());
    return r;
  }();
  return registry;
}

std::vector<std::string> lm_loss_names() { return loss_registry().names(); }

bool has_lm_loss(const std::string& name) { return loss_registry().find(name) != nullptr; }

Tensor lm_loss(const std::string& name, const Tensor& logits, const Tensor& targets,
               const LossOptions& options) {
  const LossType* type = loss_registry().find(name);
  TLM_CHECK(type != nullptr, "lm_loss: unknown loss '{}'; allowed: {}", name,
            fmt::join(lm_loss_names(), ", "));
  TLM_CHECK(logits.defined() && targets.defined() && logits.dim() >= 1 &&
                targets.dim() == logits.dim() - 1 &&
                std::equal(targets.shape().begin(), targets.shape().end(), logits.shape().begin()),
            "lm_loss '{}': logits {} x targets {}: expected logits [..., V] and targets [...]",
            name, logits.defined() ? shape_str(logits.shape()) : "undefined",
            targets.defined() ? shape_str(targets.shape()) : "undefined");
  LossOptions o = options;
  o.keys = with_defaults(type->keys, options.keys, fmt::format("loss {}", name));
  if (logits.dim() == 2) return type->fn(logits, targets, o);
  const int64_t V = logits.shape().back();
  return type->fn(reshape(logits, {-1, V}), reshape(targets, {-1}), o);
}

}  // namespace tlm::nn
