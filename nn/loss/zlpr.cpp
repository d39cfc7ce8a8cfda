#include "nn/loss/zlpr.h"

#include <algorithm>
#include <cmath>

namespace tlm::nn {
namespace detail {

Tensor row_keep_mask(const char* loss, const Tensor& scores, const Tensor& mask) {
  TLM_CHECK(scores.dim() >= 1 && is_floating(scores.dtype()),
            "{}: expected floating scores [N, ...], got {}", loss, scores.str());
  const int64_t N = scores.shape()[0];
  const int64_t K = N > 0 ? scores.numel() / N : 0;
  if (!mask.defined()) return Tensor::ones({N, K}, scores.dtype());
  check_mask(loss, scores.shape(), mask);
  NoGradGuard no_grad;
  Tensor full =
      where(mask, Tensor::ones(scores.shape(), scores.dtype()), Tensor::zeros({}, scores.dtype()));
  return reshape(full, {N, K});
}

Tensor nonempty_rows(const Tensor& keep2d) {
  NoGradGuard no_grad;
  return max(keep2d, 1);
}

}  // namespace detail

namespace {

// Labels -> floating [N,K] (1 = positive), checked against the scores.
Tensor flat_labels(const char* loss, const Tensor& scores, const Tensor& labels) {
  TLM_CHECK(labels.defined() && labels.shape() == scores.shape(),
            "{}: scores {} x labels {}: labels must have the scores' shape", loss,
            shape_str(scores.shape()), labels.defined() ? shape_str(labels.shape()) : "undefined");
  const int64_t N = scores.shape()[0];
  return reshape(labels.to(scores.dtype()), {N, N > 0 ? scores.numel() / N : 0});
}

}  // namespace

Tensor zlpr_loss_per_item(const Tensor& scores, const Tensor& labels, const Tensor& mask) {
  const char* name = "zlpr_loss";
  Tensor keep = detail::row_keep_mask(name, scores, mask);
  TLM_CHECK(labels.defined() && labels.dtype() == DType::I32,
            "{}: scores {} x labels {}: labels must be int32 0/1", name, shape_str(scores.shape()),
            labels.defined() ? labels.str() : "undefined");
  Tensor y = flat_labels(name, scores, labels);
  std::vector<double> yv = y.to_vector<double>();
  for (size_t i = 0; i < yv.size(); ++i)
    TLM_CHECK(yv[i] == 0 || yv[i] == 1,
              "{}: scores {} x labels {}: label {} at element {} is "
              "not 0 or 1",
              name, shape_str(scores.shape()), shape_str(labels.shape()), yv[i], i);
  Tensor s = reshape(scores, keep.shape());
  Tensor pos, neg_keep;
  {
    NoGradGuard no_grad;
    pos = mul(keep, y);                  // kept positives
    neg_keep = mul(keep, rsub(y, 1.0));  // kept negatives
  }
  // LSE([0, s_neg]) + LSE([0, -s_pos]): the "s <- (1-2y) s, mask the other set" trick.
  return add(detail::lse_with_zero(s, neg_keep, 1), detail::lse_with_zero(neg(s), pos, 1));
}

Tensor zlpr_loss(const Tensor& scores, const Tensor& labels, const Tensor& mask) {
  Tensor per_row = zlpr_loss_per_item(scores, labels, mask);
  return detail::masked_mean(
      per_row, detail::nonempty_rows(detail::row_keep_mask("zlpr_loss", scores, mask)));
}

Tensor soft_zlpr_loss(const Tensor& scores, const Tensor& targets, const Tensor& mask, double eps) {
  const char* name = "soft_zlpr_loss";
  TLM_CHECK(eps > 0 && eps < 0.5, "{}: eps must be in (0, 0.5), got {}", name, eps);
  Tensor keep = detail::row_keep_mask(name, scores, mask);
  TLM_CHECK(targets.defined() && is_floating(targets.dtype()),
            "{}: scores {} x targets {}: soft targets must be floating values in [0, 1]", name,
            shape_str(scores.shape()), targets.defined() ? targets.str() : "undefined");
  Tensor t = flat_labels(name, scores, targets);
  std::vector<double> tv = t.to_vector<double>();
  std::vector<double> log_t(tv.size()), log_1mt(tv.size()), keep_pos(tv.size()),
      keep_neg(tv.size());
  std::vector<double> kv = keep.to_vector<double>();
  for (size_t i = 0; i < tv.size(); ++i) {
    TLM_CHECK(tv[i] >= 0 && tv[i] <= 1,
              "{}: scores {} x targets {}: target {} at element {} is "
              "outside [0, 1]",
              name, shape_str(scores.shape()), shape_str(targets.shape()), tv[i], i);
    const double c = std::clamp(tv[i], eps, 1 - eps);
    log_t[i] = std::log(c);
    log_1mt[i] = std::log(1 - c);
    keep_pos[i] = kv[i] != 0 && tv[i] >= eps ? 1 : 0;      // first LSE: skip t < eps
    keep_neg[i] = kv[i] != 0 && tv[i] <= 1 - eps ? 1 : 0;  // second LSE: skip t > 1 - eps
  }
  const Shape& ks = keep.shape();
  const DType dt = scores.dtype();
  Tensor s = reshape(scores, ks);
  Tensor first = detail::lse_with_zero(add(neg(s), Tensor::from_vector(log_t, ks).to(dt)),
                                       Tensor::from_vector(keep_pos, ks).to(dt), 1);
  Tensor second = detail::lse_with_zero(add(s, Tensor::from_vector(log_1mt, ks).to(dt)),
                                        Tensor::from_vector(keep_neg, ks).to(dt), 1);
  return detail::masked_mean(add(first, second), detail::nonempty_rows(keep));
}

Tensor zlpr_predict(const Tensor& scores) {
  std::vector<double> v = scores.to_vector<double>();
  std::vector<int32_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] > 0 ? 1 : 0;
  return Tensor::from_vector(out, scores.shape());
}

Tensor soft_zlpr_probability(const Tensor& scores) { return sigmoid(mul(scores, 2.0)); }

}  // namespace tlm::nn
