#include "nn/gau.h"

#include <cmath>

#include "nn/attention_weights.h"
#include "nn/gpt.h"
#include "nn/init.h"

namespace tlm::nn {

void GAUBlockOptions::validate() const {
  block.validate();
  const auto& a = block.attn;
  TLM_CHECK(expansion_dim >= 0, "gau_expansion: the expansion size e must be > 0, got {}",
            expansion_dim);
  TLM_CHECK(attn_dim > 0, "gau_attn_dim: the attention size s must be > 0, got {}", attn_dim);
  TLM_CHECK(!rotates_pairs(a.pos) || attn_dim % 2 == 0, "gau_attn_dim: pos = {} needs an even "
            "attention size s, got {}", name_of(a.pos), attn_dim);
}

namespace {
const GAUBlockOptions& validated(const GAUBlockOptions& o) {
  o.validate();
  return o;
}
}  // namespace

GAU::GAU(const GAUBlockOptions& options, Rng& rng)
    : i_dense(validated(options).block.attn.n_embd, 2 * options.e() + options.attn_dim,
              options.block.attn.bias, rng),
      o_dense(options.e(), options.block.attn.n_embd, options.block.attn.bias, rng),
      attn_dropout(options.block.attn.dropout),
      resid_dropout(options.block.attn.dropout),
      opt_(options) {
  register_module("i_dense", i_dense);
  register_module("o_dense", o_dense);
  register_parameter("gamma_q", gamma_q, Tensor::ones({opt_.attn_dim}));
  register_parameter("gamma_k", gamma_k, Tensor::ones({opt_.attn_dim}));
  register_parameter("beta_q", beta_q, Tensor::zeros({opt_.attn_dim}));
  register_parameter("beta_k", beta_k, Tensor::zeros({opt_.attn_dim}));
  register_module("attn_dropout", attn_dropout);
  register_module("resid_dropout", resid_dropout);
}

Tensor GAU::forward(const Tensor& x, Rng& rng, KVCache::Layer* cache, int64_t offset) {
  const auto& a = opt_.block.attn;
  const int64_t C = a.n_embd, E = opt_.e(), S = opt_.attn_dim;
  TLM_CHECK(x.dim() == 3 && x.shape()[2] == C, "gau: input {} must be [B,T,C] with C = {}",
            shape_str(x.shape()), C);
  TLM_CHECK(offset >= 0, "gau: offset must be >= 0, got {}", offset);
  const int64_t B = x.shape()[0], T = x.shape()[1];
  std::vector<Tensor> uvz = split(silu(i_dense.forward(x)), {E, E, S}, -1);
  Tensor u = uvz[0], v = uvz[1], z = uvz[2];  // [B,T,e], [B,T,e], [B,T,s]
  Tensor q = add(mul(z, gamma_q), beta_q);  // [B,T,s]
  Tensor k = add(mul(z, gamma_k), beta_k);  // [B,T,s]
  if (const auto rotate = choice_of(a.pos).impl.rotate)  // rope (nn/choices.cpp)
    rotate(q, k, rope_, offset, a.block_size, a.rope_base);
  int64_t mask_offset = 0;
  if (cache) {
    TLM_CHECK(!GradMode::enabled(), "gau: the KV cache is for inference; run the forward pass "
              "under NoGradGuard");
    const int64_t cap = a.block_size;
    TLM_CHECK(offset + T <= cap, "gau: KV cache holds {} positions, {} cached + {} new exceed it",
              cap, offset, T);
    if (!cache->k.defined() || cache->k.shape() != Shape{B, cap, S} ||
        cache->k.dtype() != x.dtype()) {
      TLM_CHECK(offset == 0, "gau: KV cache {} does not match the input {} (reset the cache)",
                cache->k.str(), x.str());
      cache->k = Tensor::zeros({B, cap, S}, x.dtype());
      cache->v = Tensor::zeros({B, cap, E}, x.dtype());
    }
    Tensor k_slot = narrow(cache->k, 1, offset, T);
    Tensor v_slot = narrow(cache->v, 1, offset, T);
    k_slot.copy_from(k);
    v_slot.copy_from(v);
    k = narrow(cache->k, 1, 0, offset + T);  // [B,offset+T,s]
    v = narrow(cache->v, 1, 0, offset + T);  // [B,offset+T,e]
    mask_offset = offset;
  }
  AttentionWeightOptions w;
  w.attn = a.attn;
  w.attn_scale = a.attn_scale;
  w.base_scale = a.scale > 0 ? a.scale : 1.0 / std::sqrt(static_cast<double>(S));
  w.train_len = a.block_size;
  w.window = a.window;
  Tensor av;  // A v [B,T,e]
  const bool dropout_active = attn_dropout.training() && attn_dropout.p() > 0;
  if (fused_attention_applies(w, a.fused, dropout_active || probe, x.dtype())) {
    // One head: [B,1,T,s] queries and keys, [B,1,Tk,e] values.
    av = reshape(fused_attention(unsqueeze(q, 1), unsqueeze(k, 1), unsqueeze(v, 1), w,
                                 mask_offset), {B, T, E});
  } else {
    Tensor att = attention_weights(matmul(q, transpose(k, -2, -1)), w, mask_offset);  // [B,T,Tk]
    att = attn_dropout.forward(att, rng);
    if (probe) probe->record(unsqueeze(att, 1));  // diagnostics (eval mode: no dropout)
    av = matmul(att, v);
  }
  Tensor o = mul(u, av);  // [B,T,e]
  return resid_dropout.forward(o_dense.forward(o), rng);
}

GAUBlock::GAUBlock(const GAUBlockOptions& options, Rng& rng)
    : ln(make_norm(validated(options).block.norm_type, options.block.attn.n_embd,
                   options.block.attn.bias, options.block.norm_eps)),
      gau(options, rng),
      opt_(options) {
  register_module("ln", *ln);
  register_module("gau", gau);
  const int64_t C = opt_.block.attn.n_embd, E = opt_.e(), S = opt_.attn_dim;
  const double N = static_cast<double>(opt_.block.n_layer);
  if (opt_.block.norm != NormPlacement::DeepNorm) {
    init::normal_(gau.o_dense.weight, rng, 0.02 / std::sqrt(2.0 * N));
    return;
  }
  // DeepNet (arXiv:2203.00555): alpha = (2N)^(1/4), value-like projections Xavier gain
  // (8N)^(-1/4); the query/key path (W_z) gain 1.
  alpha_ = std::pow(2.0 * N, 0.25);
  const double b = std::pow(8.0 * N, -0.25);
  Tensor w = gau.i_dense.weight.detach();
  Tensor uv = narrow(w, 0, 0, 2 * E);
  Tensor wz = narrow(w, 0, 2 * E, S);
  init::normal_(uv, rng, init::xavier_normal_std(C, E, b));
  init::normal_(wz, rng, init::xavier_normal_std(C, S, 1.0));
  init::normal_(gau.o_dense.weight, rng, init::xavier_normal_std(E, C, b));
}

Tensor GAUBlock::forward(const Tensor& x, Rng& rng, KVCache::Layer* cache, int64_t offset) {
  if (opt_.block.norm == NormPlacement::Pre) return add(x, gau.forward(ln->forward(x), rng, cache, offset));
  Tensor skip = alpha_ == 1.0 ? x : mul(x, alpha_);
  return ln->forward(add(skip, gau.forward(x, rng, cache, offset)));
}

void GAUBlock::for_each_linear(const LinearVisitor& fn) {
  fn("gau.i_dense", gau.i_dense);
  fn("gau.o_dense", gau.o_dense);
}

double GAUBlock::attention_flops_per_token(int64_t T) const {
  return 6.0 * static_cast<double>(opt_.attn_dim + opt_.e()) * static_cast<double>(T);
}

CostComponent GAUBlock::component_of(const std::string& name) const {
  if (name.rfind("ln.", 0) == 0) return CostComponent::Norms;
  if (name.rfind("gau.", 0) == 0) return CostComponent::Attention;
  return CostComponent::Other;
}

namespace {

// The options of block `layer` of config c: the common ones, e and s from the entry's keys.
GAUBlockOptions gau_options(const GPTConfig& c, int64_t layer) {
  const KeyValues k = block_keys(c);
  GAUBlockOptions o;
  o.block = block_options(c, layer);
  o.expansion_dim = std::max<int64_t>(
      1, std::llround(k.number("gau_expansion") * static_cast<double>(c.n_embd)));
  o.attn_dim = k.integer("gau_attn_size");
  return o;
}

void check_gau(const GPTConfig& c) {
  const int64_t s = block_keys(c).integer("gau_attn_size");
  TLM_CHECK(!rotates_pairs(c.pos) || s % 2 == 0,
            "block = gau with pos = {} needs an even gau_attn_size (RoPE rotates pairs), got {}",
            name_of(c.pos), s);
}

// ln, i_dense [2e+s, C], o_dense [C, e], gamma/beta q, k [s]; attention 6 T (s + e) per token.
BlockShape gau_shape(const GPTConfig& c) {
  const GAUBlockOptions o = gau_options(c, 0);
  const int64_t C = c.n_embd, E = o.e(), S = o.attn_dim;
  BlockShape b;
  b.linears = {{C, 2 * E + S}, {E, C}};
  b.params = norm_parameters(o.block.norm_type, C, c.bias) + 4 * S;
  for (const auto& [in, out] : b.linears) b.params += in * out + (c.bias ? out : 0);
  const double Cd = static_cast<double>(C), e = static_cast<double>(E), s = static_cast<double>(S);
  const double T = static_cast<double>(c.block_size);
  b.attention_flops = 6.0 * (s + e) * T;
  // Saved per token (train/launch/memory_estimate.h): 2(2e+s) + 2s + T + 2e + 3C, of which the
  // attention weights A (T) stay fp32; dropout > 0 adds C + 2T (masks).
  b.saved_full = T;
  b.saved_half = 2 * (2 * e + s) + 2 * s + 2 * e + 3 * Cd;
  if (c.dropout > 0) b.saved_full += Cd + 2 * T;
  b.rope_dim = S;
  return b;
}

}  // namespace

BlockType gau_block_type() {
  return {"gau",
          "FLASH's gated attention unit GAU (arXiv:2202.10447)",
          {EntryKey::number("gau_expansion", "2",
                            "GAU expansion factor: e = gau_expansion * n_embd (block = gau)",
                            KeyRange::above(0)),
           EntryKey::integer("gau_attn_size", "128",
                             "GAU shared query/key size s (block = gau; even for RoPE)",
                             KeyRange::closed(1, 65536))},
          [](const GPTConfig& c, int64_t layer, Rng& rng) -> std::unique_ptr<Block> {
            return std::make_unique<GAUBlock>(gau_options(c, layer), rng);
          },
          &check_gau, &gau_shape};
}

}  // namespace tlm::nn
