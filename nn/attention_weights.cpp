#include "nn/attention_weights.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/flash_attention.h"
#include "autograd/precision.h"

namespace tlm::nn {

std::vector<double> visible_keys(int64_t rows, int64_t offset, int64_t window) {
  std::vector<double> n(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    int64_t v = offset + i + 1;
    if (window > 0) v = std::min(v, window);
    n[static_cast<size_t>(i)] = static_cast<double>(v);
  }
  return n;
}

std::vector<double> row_scales(int64_t rows, int64_t offset, const AttentionWeightOptions& o) {
  std::vector<double> c(static_cast<size_t>(rows), o.base_scale);
  if (o.attn_scale == AttnScale::LogN) {
    TLM_CHECK(o.train_len >= 2, "attn_scale = logn: the training length must be >= 2, got {}",
              o.train_len);
    const std::vector<double> n = visible_keys(rows, offset, o.window);
    const double logN = std::log(static_cast<double>(o.train_len));
    for (size_t i = 0; i < c.size(); ++i) c[i] = o.base_scale * std::log(n[i]) / logN;
  }
  return c;
}

Tensor attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset) {
  TLM_CHECK(scores.dim() >= 2, "attention_weights: scores {} must be [..., Tq, Tk]",
            shape_str(scores.shape()));
  const int64_t Tq = scores.size(-2), Tk = scores.size(-1);
  TLM_CHECK(Tk == offset + Tq, "attention_weights: scores {} need Tk = offset + Tq = {} + {}",
            shape_str(scores.shape()), offset, Tq);
  return choice_of(o.attn).impl.weights(scores, o, offset);
}

Tensor softmax_attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset) {
  if (o.attn_scale == AttnScale::Sqrt) return causal_softmax(scores, o.base_scale, offset, o.window);
  const int64_t Tq = scores.size(-2);
  const std::vector<double> c = row_scales(Tq, offset, o);
  Tensor col = Tensor::from_vector(c, {Tq, 1}).to(scores.dtype());  // [Tq,1] c_i
  return causal_softmax(mul(scores, col), 1.0, offset, o.window);
}

Tensor relu2_attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset) {
  // M_ij = c_i on visible entries, 0 elsewhere; R_i = 1 / n_i.
  const int64_t Tq = scores.size(-2), Tk = scores.size(-1);
  const std::vector<double> c = row_scales(Tq, offset, o);
  const std::vector<double> n = visible_keys(Tq, offset, o.window);
  std::vector<double> m(static_cast<size_t>(Tq * Tk), 0.0), r(static_cast<size_t>(Tq));
  for (int64_t i = 0; i < Tq; ++i) {
    const int64_t pos = offset + i;
    const int64_t lo = o.window > 0 ? std::max<int64_t>(0, pos - o.window + 1) : 0;
    for (int64_t j = lo; j <= pos; ++j) m[static_cast<size_t>(i * Tk + j)] = c[static_cast<size_t>(i)];
    r[static_cast<size_t>(i)] = 1.0 / n[static_cast<size_t>(i)];
  }
  Tensor M = Tensor::from_vector(m, {Tq, Tk}).to(scores.dtype());  // [Tq,Tk]
  Tensor R = Tensor::from_vector(r, {Tq, 1}).to(scores.dtype());   // [Tq,1]
  return mul(relu2(mul(scores, M)), R);
}

bool fused_attention_applies(const AttentionWeightOptions& o, bool requested, bool needs_weights,
                             DType dtype) {
  return requested && choice_of(o.attn).impl.fused != nullptr && !needs_weights &&
         (dtype != DType::F32 || current_precision() == Precision::F32);
}

Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const AttentionWeightOptions& o, int64_t offset) {
  const AttentionForm& form = choice_of(o.attn).impl;
  TLM_CHECK(form.fused != nullptr, "fused_attention: attn = {} has no fused kernel", name_of(o.attn));
  return form.fused(q, k, v, o, offset);
}

Tensor softmax_fused_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                               const AttentionWeightOptions& o, int64_t offset) {
  return flash_attention(q, k, v, row_scales(q.size(-2), offset, o), offset, o.window);
}

}  // namespace tlm::nn
