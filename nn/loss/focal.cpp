#include "nn/loss/focal.h"

#include "nn/loss/registry.h"

#include <cmath>
#include <limits>

namespace tlm::nn {
namespace {

// s = (1 - 2y) x, with ignored labels treated as y = 0 (they are dropped by the mean).
Tensor signed_logits(const Tensor& logits, const Tensor& labels) {
  std::vector<int32_t> y = labels.to_vector<int32_t>();
  std::vector<double> sign(y.size());
  for (size_t i = 0; i < y.size(); ++i) sign[i] = y[i] == 1 ? -1.0 : 1.0;
  return mul(logits, Tensor::from_vector(sign, labels.shape()).to(logits.dtype()));
}

Tensor binary_keep(const Tensor& logits, const Tensor& labels, int32_t ignore_index) {
  return detail::valid_mask(labels, ignore_index, logits.dtype());
}

void check_gamma(const char* loss, double gamma) {
  TLM_CHECK(gamma >= 0 && std::isfinite(gamma), "{}: gamma must be >= 0, got {}", loss, gamma);
}

// One-hot int32 [N,C] of (safe) targets.
Tensor one_hot(const Tensor& safe_targets, int64_t C) {
  std::vector<int32_t> t = safe_targets.to_vector<int32_t>();
  std::vector<int32_t> oh(t.size() * C, 0);
  for (size_t i = 0; i < t.size(); ++i) oh[i * C + t[i]] = 1;
  return Tensor::from_vector(oh, {static_cast<int64_t>(t.size()), C});
}

}  // namespace

Tensor hard_truncation_loss(const Tensor& logits, const Tensor& labels, double m,
                            int32_t ignore_index) {
  detail::check_binary_labels("hard_truncation_loss", logits, labels, ignore_index);
  TLM_CHECK(m > 0 && m < 1, "hard_truncation_loss: threshold m must be in (0, 1), got {}", m);
  // lambda: a constant computed from the current predictions (no gradient through it).
  std::vector<double> x = logits.to_vector<double>();
  std::vector<int32_t> y = labels.to_vector<int32_t>();
  std::vector<double> lambda(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = 1 / (1 + std::exp(-x[i]));
    lambda[i] = (y[i] == 1 && p > m) || (y[i] == 0 && p < m) ? 0.0 : 1.0;
  }
  Tensor ce = softplus(signed_logits(logits, labels));
  Tensor l = mul(ce, Tensor::from_vector(lambda, logits.shape()).to(logits.dtype()));
  return detail::masked_mean(l, binary_keep(logits, labels, ignore_index));
}

Tensor softened_truncation_loss(const Tensor& logits, const Tensor& labels, double K,
                                int32_t ignore_index) {
  detail::check_binary_labels("softened_truncation_loss", logits, labels, ignore_index);
  TLM_CHECK(std::isfinite(K) && K >= 0, "softened_truncation_loss: K must be >= 0, got {}", K);
  Tensor s = signed_logits(logits, labels);
  Tensor l = mul(sigmoid(mul(s, K)), softplus(s));
  return detail::masked_mean(l, binary_keep(logits, labels, ignore_index));
}

Tensor binary_focal_loss(const Tensor& logits, const Tensor& labels, double alpha, double gamma,
                         int32_t ignore_index) {
  detail::check_binary_labels("binary_focal_loss", logits, labels, ignore_index);
  check_gamma("binary_focal_loss", gamma);
  TLM_CHECK(alpha >= 0 && alpha <= 1, "binary_focal_loss: alpha must be in [0, 1], got {}", alpha);
  Tensor s = signed_logits(logits, labels);
  Tensor l = softplus(s);                                       // CE = -log p_t
  if (gamma != 0) l = mul(exp(mul(log_sigmoid(s), gamma)), l);  // (1 - p_t)^gamma
  std::vector<int32_t> y = labels.to_vector<int32_t>();
  std::vector<double> a(y.size());
  for (size_t i = 0; i < y.size(); ++i) a[i] = y[i] == 1 ? alpha : 1 - alpha;
  l = mul(l, Tensor::from_vector(a, labels.shape()).to(logits.dtype()));
  return detail::masked_mean(l, binary_keep(logits, labels, ignore_index));
}

Tensor hard_truncation_loss_multiclass(const Tensor& logits, const Tensor& targets, double m,
                                       int32_t ignore_index) {
  detail::check_class_targets("hard_truncation_loss", logits, targets, ignore_index);
  TLM_CHECK(m > 0 && m <= 1, "hard_truncation_loss: threshold m must be in (0, 1], got {}", m);
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor logp = detail::target_log_prob(logits, safe);  // [N]
  std::vector<double> lp = logp.to_vector<double>();
  std::vector<double> lambda(lp.size());
  for (size_t i = 0; i < lp.size(); ++i) lambda[i] = std::exp(lp[i]) > m ? 0.0 : 1.0;
  Tensor l = mul(neg(logp), Tensor::from_vector(lambda, logp.shape()).to(logits.dtype()));
  return detail::masked_mean(l, detail::valid_mask(targets, ignore_index, logits.dtype()));
}

Tensor softened_truncation_loss_multiclass(const Tensor& logits, const Tensor& targets, double K,
                                           int32_t ignore_index) {
  detail::check_class_targets("softened_truncation_loss", logits, targets, ignore_index);
  TLM_CHECK(std::isfinite(K) && K >= 0, "softened_truncation_loss: K must be >= 0, got {}", K);
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor logp = detail::target_log_prob(logits, safe);
  Tensor w = exp(detail::target_log_prob(mul(logits, -K), safe));  // softmax(-K z)_t
  Tensor l = neg(mul(w, logp));
  return detail::masked_mean(l, detail::valid_mask(targets, ignore_index, logits.dtype()));
}

Tensor focal_loss_per_item(const Tensor& logits, const Tensor& targets, double gamma, double alpha,
                           int32_t ignore_index) {
  detail::check_class_targets("focal_loss", logits, targets, ignore_index);
  check_gamma("focal_loss", gamma);
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor keep = detail::valid_mask(targets, ignore_index, logits.dtype());
  Tensor lse = logsumexp(logits, 1);  // [N]
  Tensor z_t = reshape(gather(logits, 1, reshape(safe, {N, 1})), {N});
  Tensor l = sub(lse, z_t);  // -log p_t
  if (gamma != 0 && C > 1) {
    // log(1 - p_t) = LSE_{j != t} z_j - LSE(z): exact even when p_t rounds to 1.
    Tensor others =
        where(one_hot(safe, C),
              Tensor::full({}, -std::numeric_limits<double>::infinity(), logits.dtype()), logits);
    Tensor log1m = sub(logsumexp(others, 1), lse);
    l = mul(exp(mul(log1m, gamma)), l);
  } else if (gamma != 0) {
    l = mul(l, 0.0);  // one class: p_t = 1, so (1 - p_t)^gamma = 0
  }
  if (alpha != 1) l = mul(l, alpha);
  return where(keep, l, Tensor::zeros({}, logits.dtype()));
}

Tensor focal_loss(const Tensor& logits, const Tensor& targets, double gamma, double alpha,
                  int32_t ignore_index) {
  Tensor l = focal_loss_per_item(logits, targets, gamma, alpha, ignore_index);
  return detail::masked_mean(l, detail::valid_mask(targets, ignore_index, logits.dtype()));
}

namespace {
Tensor focal_entry(const Tensor& z, const Tensor& y, const LossOptions& o) {
  return focal_loss(z, y, o.keys.number("focal_gamma"), o.keys.number("focal_alpha"), o.ignore_index);
}
}  // namespace

LossType focal_loss_type() {
  return {"focal", "multi-class focal loss -alpha (1-p_t)^gamma log p_t",
          {EntryKey::number("focal_gamma", "2.0",
                            "loss = focal: gamma of -alpha (1-p_t)^gamma log p_t (arXiv:1708.02002)",
                            KeyRange::at_least(0)),
           EntryKey::number("focal_alpha", "1.0",
                            "loss = focal: alpha, a plain scale in the multi-class form",
                            KeyRange::above(0))},
          &focal_entry};
}

}  // namespace tlm::nn
