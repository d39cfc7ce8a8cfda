#include "nn/loss/tailr.h"

#include "nn/loss/registry.h"

#include <cmath>

namespace tlm::nn {
namespace {

void check_gamma(double gamma) {
  TLM_CHECK(gamma >= 0 && gamma < 1, "tailr_loss: gamma must be in [0, 1), got {}", gamma);
}

// log(gamma + (1-gamma) p) from log p, [N] -> [N].
Tensor log_mixture(const Tensor& logp, double gamma) {
  if (gamma == 0) return logp;
  const int64_t N = logp.numel();
  Tensor a = Tensor::full({N, 1}, std::log(gamma), logp.dtype());
  Tensor b = add(reshape(logp, {N, 1}), std::log1p(-gamma));
  return logsumexp(concat({a, b}, 1), 1);
}

}  // namespace

Tensor tailr_loss_per_item(const Tensor& logits, const Tensor& targets, double gamma,
                           int32_t ignore_index) {
  detail::check_class_targets("tailr_loss", logits, targets, ignore_index);
  check_gamma(gamma);
  Tensor logp = detail::target_log_prob(logits, detail::safe_targets(targets, ignore_index));
  Tensor l = mul(log_mixture(logp, gamma), -1.0 / (1.0 - gamma));
  return where(detail::valid_mask(targets, ignore_index, logits.dtype()), l,
               Tensor::zeros({}, logits.dtype()));
}

Tensor tailr_loss(const Tensor& logits, const Tensor& targets, double gamma, int32_t ignore_index) {
  return detail::masked_mean(tailr_loss_per_item(logits, targets, gamma, ignore_index),
                             detail::valid_mask(targets, ignore_index, logits.dtype()));
}

Tensor tailr_weighted_loss(const Tensor& logits, const Tensor& targets, double gamma,
                           double floor_b, int32_t ignore_index) {
  detail::check_class_targets("tailr_loss", logits, targets, ignore_index);
  check_gamma(gamma);
  TLM_CHECK(floor_b >= 0 && floor_b <= 1, "tailr_loss: floor b must be in [0, 1], got {}", floor_b);
  Tensor logp = detail::target_log_prob(logits, detail::safe_targets(targets, ignore_index));
  Tensor weight;  // sg(max(b, p / (gamma + (1-gamma) p))), from log p (no 0/0)
  {
    NoGradGuard no_grad;
    weight = exp(sub(logp, log_mixture(logp, gamma)));
    weight = maximum(weight, Tensor::full({}, floor_b, weight.dtype())).detach();
  }
  return detail::masked_mean(neg(mul(weight, logp)),
                             detail::valid_mask(targets, ignore_index, logits.dtype()));
}

namespace {
Tensor tailr_entry(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return tailr_loss(z, y, o.keys.number("tailr_gamma"), o.ignore_index);
}
}  // namespace

LossType tailr_loss_type() {
  return {"tailr", "TaiLr -log(gamma + (1-gamma) p_t)/(1-gamma)",
          {EntryKey::number("tailr_gamma", "1e-7",
                            "loss = tailr: gamma of -log(gamma + (1-gamma) p_t)/(1-gamma) "
                            "(docs/methods.md, \"TaiLr\"; 1e-7 from scratch)",
                            KeyRange::half_open(0, 1))},
          &tailr_entry};
}

}  // namespace tlm::nn
