#include "nn/loss/pointwise.h"

namespace tlm::nn {

Tensor weighted_bce_loss(const Tensor& scores, const Tensor& labels, const Tensor& pos_weight) {
  TLM_CHECK(scores.defined() && labels.defined() && scores.dim() == 2 &&
                labels.shape() == scores.shape() && labels.dtype() == DType::I32,
            "weighted_bce_loss: scores {} and labels {}: expected [N,K] floating and the same "
            "shape int32", scores.defined() ? shape_str(scores.shape()) : "undefined",
            labels.defined() ? shape_str(labels.shape()) : "undefined");
  for (int32_t v : labels.to_vector<int32_t>())
    TLM_CHECK(v == 0 || v == 1, "weighted_bce_loss: label {} (allowed: 0, 1)", v);
  Tensor y = labels.to(scores.dtype());
  Tensor pos = mul(softplus(neg(scores)), y);                          // y softplus(-s)
  Tensor negt = mul(softplus(scores), rsub(y, 1.0));                  // (1 - y) softplus(s)
  if (pos_weight.defined()) {
    TLM_CHECK(pos_weight.dim() == 1 && pos_weight.size(0) == scores.size(1) &&
                  is_floating(pos_weight.dtype()),
              "weighted_bce_loss: pos_weight {} for scores {}: expected [K] floating",
              shape_str(pos_weight.shape()), shape_str(scores.shape()));
    pos = mul(pos, pos_weight.to(scores.dtype()));
  }
  return mean(add(pos, negt));
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  TLM_CHECK(pred.defined() && target.defined() && pred.shape() == target.shape() &&
                pred.numel() > 0,
            "mse_loss: pred {} and target {}: expected the same non-empty shape",
            pred.defined() ? shape_str(pred.shape()) : "undefined",
            target.defined() ? shape_str(target.shape()) : "undefined");
  Tensor d = sub(pred, target.to(pred.dtype()));
  return mean(mul(d, d));
}

}  // namespace tlm::nn
