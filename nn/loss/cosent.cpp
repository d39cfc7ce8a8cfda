#include "nn/loss/cosent.h"

#include <cmath>

namespace tlm::nn {

Tensor cosent_loss(const Tensor& cos, const Tensor& labels, double lambda) {
  TLM_CHECK(cos.defined() && cos.dim() == 1 && is_floating(cos.dtype()),
            "cosent_loss: expected floating cosines [B], got {}",
            cos.defined() ? cos.str() : "undefined");
  TLM_CHECK(labels.defined() && labels.shape() == cos.shape(),
            "cosent_loss: cos {} x labels {}: labels must be [B] like the cosines",
            shape_str(cos.shape()), labels.defined() ? shape_str(labels.shape()) : "undefined");
  TLM_CHECK(std::isfinite(lambda) && lambda > 0, "cosent_loss: lambda must be positive, got {}",
            lambda);
  const int64_t B = cos.shape()[0];
  std::vector<double> y = labels.to_vector<double>();
  std::vector<double> keep(B * B, 0.0);
  for (int64_t a = 0; a < B; ++a) {
    TLM_CHECK(std::isfinite(y[a]), "cosent_loss: label {} at {} is not finite", y[a], a);
    for (int64_t b = 0; b < B; ++b) keep[a * B + b] = y[a] > y[b] ? 1.0 : 0.0;
  }
  // entry (a, b) = lambda (c_b - c_a): the better-labelled pair a should score higher.
  Tensor diff = mul(sub(reshape(cos, {1, B}), reshape(cos, {B, 1})), lambda);  // [B,B]
  Tensor lse = detail::lse_with_zero(reshape(diff, {1, B * B}),
                                     Tensor::from_vector(keep, {1, B * B}).to(cos.dtype()), 1);
  return reshape(lse, {});
}

Tensor cosine_similarity(const Tensor& u, const Tensor& v) {
  TLM_CHECK(u.defined() && v.defined() && u.dim() == 2 && u.shape() == v.shape(),
            "cosine_similarity: u {} x v {}: expected two [B,D] tensors",
            u.defined() ? shape_str(u.shape()) : "undefined",
            v.defined() ? shape_str(v.shape()) : "undefined");
  Tensor eps = Tensor::full({}, 1e-24, u.dtype());
  Tensor nu = maximum(sum(square(u), 1), eps), nv = maximum(sum(square(v), 1), eps);
  return mul(sum(mul(u, v), 1), mul(rsqrt(nu), rsqrt(nv)));
}

}  // namespace tlm::nn
