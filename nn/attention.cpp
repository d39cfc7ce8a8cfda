#include "nn/attention.h"

#include <cmath>

#include "nn/attention_weights.h"

namespace tlm::nn {

void rope_rotate(Tensor& q, Tensor& k, RopeTables& tables, int64_t offset, int64_t block_size,
                 double base) {
  const int64_t T = q.size(-2), D = q.size(-1);
  ensure_rope_tables(tables, offset + T, block_size, D, base, q.dtype());
  q = rope(q, tables, offset);
  k = rope(k, tables, offset);
}

void AttentionOptions::validate() const {
  TLM_CHECK(n_embd > 0, "attention: n_embd must be > 0, got {}", n_embd);
  TLM_CHECK(n_head > 0, "attention: n_head must be > 0, got {}", n_head);
  TLM_CHECK(n_embd % n_head == 0, "attention: n_head = {} does not divide n_embd = {}", n_head,
            n_embd);
  TLM_CHECK(block_size > 0, "attention: block_size must be > 0, got {}", block_size);
  TLM_CHECK(dropout >= 0 && dropout < 1, "attention: dropout must be in [0, 1), got {}", dropout);
  TLM_CHECK(!rotates_pairs(pos) || (n_embd / n_head) % 2 == 0,
            "attention: pos = '{}' needs an even head size, got n_embd / n_head = {}", name_of(pos),
            n_embd / n_head);
  TLM_CHECK(!rotates_pairs(pos) || rope_base > 1, "attention: rope_base must be > 1, got {}", rope_base);
  TLM_CHECK(scale >= 0, "attention: scale must be >= 0 (0 = 1/sqrt(D)), got {}", scale);
  TLM_CHECK(window >= 0, "attention: window must be >= 0 (0 = full causal), got {}", window);
  TLM_CHECK(window <= block_size, "attention: window = {} is larger than the context block_size "
            "= {}", window, block_size);
  TLM_CHECK(attn_scale != AttnScale::LogN || block_size >= 2, "attention: attn_scale = logn needs "
            "block_size >= 2 (log_N n with N = block_size), got {}", block_size);
}

namespace {
const AttentionOptions& validated(const AttentionOptions& o) {
  o.validate();
  return o;
}
}  // namespace

CausalSelfAttention::CausalSelfAttention(const AttentionOptions& options, Rng& rng)
    : c_attn(validated(options).n_embd, 3 * options.n_embd, options.bias, rng),
      c_proj(options.n_embd, options.n_embd, options.bias, rng),
      attn_dropout(options.dropout),
      resid_dropout(options.dropout),
      opt_(options) {
  register_module("c_attn", c_attn);
  register_module("c_proj", c_proj);
  register_module("attn_dropout", attn_dropout);
  register_module("resid_dropout", resid_dropout);
}

Tensor CausalSelfAttention::forward(const Tensor& x, Rng& rng, KVCache::Layer* cache,
                                    int64_t offset) {
  TLM_CHECK(x.dim() == 3 && x.shape()[2] == opt_.n_embd, "attention: input {} must be [B,T,C] "
            "with C = {}", shape_str(x.shape()), opt_.n_embd);
  TLM_CHECK(offset >= 0, "attention: offset must be >= 0, got {}", offset);
  const int64_t B = x.shape()[0], T = x.shape()[1], C = opt_.n_embd, H = opt_.n_head;
  const int64_t D = C / H;

  // q, k, v from the row blocks of the fused c_attn weight, one GEMM each, each viewed as
  // [B,H,T,D] (a permuted view: no copy). Slicing the *output* of one [B,T,3C] GEMM instead
  // would make each slice's backward a zero-filled [B,T,3C] buffer, summed three ways;
  // slicing the weight keeps that cost at [3C,C].
  auto project = [&](int64_t part) {
    Tensor w = narrow(c_attn.weight, 0, part * C, C);      // [C,C]
    Tensor b = c_attn.bias.defined() ? narrow(c_attn.bias, 0, part * C, C) : Tensor();
    Tensor y = affine(x, w, b);                              // [B,T,C]
    if (c_attn.lora) y = add(y, c_attn.lora->forward_rows(x, part * C, C));  // nn/lora.h
    return permute(reshape(y, {B, T, H, D}), {0, 2, 1, 3});  // [B,H,T,D]
  };
  Tensor q = project(0);  // [B,H,T,D]
  Tensor k = project(1);  // [B,H,T,D]
  Tensor v = project(2);  // [B,H,T,D]

  if (const auto rotate = choice_of(opt_.pos).impl.rotate)  // rope (nn/choices.cpp)
    rotate(q, k, rope_, offset, opt_.block_size, opt_.rope_base);

  int64_t mask_offset = 0;
  if (cache) {
    TLM_CHECK(!GradMode::enabled(), "attention: the KV cache is for inference; run the forward "
              "pass under NoGradGuard");
    const int64_t cap = opt_.block_size;
    TLM_CHECK(offset + T <= cap, "attention: KV cache holds {} positions, {} cached + {} new "
              "exceed it", cap, offset, T);
    const Shape buf{B, H, cap, D};
    if (!cache->k.defined() || cache->k.shape() != buf || cache->k.dtype() != x.dtype()) {
      TLM_CHECK(offset == 0, "attention: KV cache {} does not match the input {} (batch or "
                "dtype changed mid-sequence; reset the cache)", cache->k.str(), x.str());
      cache->k = Tensor::zeros(buf, x.dtype());
      cache->v = Tensor::zeros(buf, x.dtype());
    }
    Tensor k_slot = narrow(cache->k, 2, offset, T);
    Tensor v_slot = narrow(cache->v, 2, offset, T);
    k_slot.copy_from(k);
    v_slot.copy_from(v);
    k = narrow(cache->k, 2, 0, offset + T);  // [B,H,offset+T,D]
    v = narrow(cache->v, 2, 0, offset + T);
    mask_offset = offset;
  }

  AttentionWeightOptions w;
  w.attn = opt_.attn;
  w.attn_scale = opt_.attn_scale;
  w.base_scale = opt_.scale > 0 ? opt_.scale : 1.0 / std::sqrt(static_cast<double>(D));
  w.train_len = opt_.block_size;
  w.window = opt_.window;
  const bool dropout_active = attn_dropout.training() && attn_dropout.p() > 0;
  Tensor y;
  if (fused_attention_applies(w, opt_.fused, dropout_active || probe, x.dtype())) {
    y = fused_attention(q, k, v, w, mask_offset);                 // [B,H,T,D], stored [B,T,H,D]
  } else {
    Tensor att = matmul(q, transpose(k, -2, -1));                 // [B,H,T,Tk]
    att = attention_weights(att, w, mask_offset);                 // [B,H,T,Tk]
    att = attn_dropout.forward(att, rng);
    if (probe) probe->record(att);  // diagnostics (run in eval mode: no dropout)
    y = matmul(att, v);                                           // [B,H,T,D]
  }
  y = reshape(permute(y, {0, 2, 1, 3}), {B, T, C});  // [B,T,C] (a view after the fused kernel)
  return resid_dropout.forward(c_proj.forward(y), rng);
}

}  // namespace tlm::nn
