#include "nn/gpt.h"

#include <cmath>

#include "nn/sampling.h"

namespace tlm::nn {

void GPTConfig::validate() const {
  TLM_CHECK(vocab_size > 0, "GPTConfig.vocab_size: must be > 0, got {}", vocab_size);
  TLM_CHECK(block_size > 0, "GPTConfig.block_size: must be > 0, got {}", block_size);
  TLM_CHECK(n_layer > 0, "GPTConfig.n_layer: must be > 0, got {}", n_layer);
  TLM_CHECK(n_head > 0, "GPTConfig.n_head: must be > 0, got {}", n_head);
  TLM_CHECK(n_embd > 0, "GPTConfig.n_embd: must be > 0, got {}", n_embd);
  TLM_CHECK(n_embd % n_head == 0, "GPTConfig.n_head: {} does not divide n_embd = {}", n_head,
            n_embd);
  TLM_CHECK(dropout >= 0 && dropout < 1, "GPTConfig.dropout: must be in [0, 1), got {}", dropout);
  TLM_CHECK(norm == "pre" || norm == "post" || norm == "deepnorm",
            "GPTConfig.norm: '{}' is not one of pre|post|deepnorm", norm);
  TLM_CHECK(pos == "learned" || pos == "rope" || pos == "none",
            "GPTConfig.pos: '{}' is not one of learned|rope|none", pos);
  TLM_CHECK(ffn == "gelu" || ffn == "gelu_tanh" || ffn == "geglu" || ffn == "swiglu",
            "GPTConfig.ffn: '{}' is not one of gelu|gelu_tanh|geglu|swiglu", ffn);
  TLM_CHECK(norm_type == "layernorm" || norm_type == "rmsnorm",
            "GPTConfig.norm_type: '{}' is not one of layernorm|rmsnorm", norm_type);
  TLM_CHECK(pos != "rope" || (n_embd / n_head) % 2 == 0, "GPTConfig.pos: 'rope' needs an even "
            "head size, got n_embd / n_head = {}", n_embd / n_head);
  TLM_CHECK(rope_base > 1, "GPTConfig.rope_base: must be > 1, got {}", rope_base);
  TLM_CHECK(norm_eps >= 0, "GPTConfig.norm_eps: must be >= 0, got {}", norm_eps);
  TLM_CHECK(block == "transformer" || block == "gau",
            "GPTConfig.block: '{}' is not one of transformer|gau", block);
  TLM_CHECK(attn == "softmax" || attn == "relu2", "GPTConfig.attn: '{}' is not one of "
            "softmax|relu2", attn);
  TLM_CHECK(attn_scale == "sqrt" || attn_scale == "logn", "GPTConfig.attn_scale: '{}' is not one "
            "of sqrt|logn", attn_scale);
  TLM_CHECK(window >= 0 && window <= block_size, "GPTConfig.window: {} must be in [0, "
            "block_size = {}] (0 = full attention)", window, block_size);
  TLM_CHECK(attn_kernel == "fused" || attn_kernel == "composed", "GPTConfig.attn_kernel: '{}' is "
            "not one of fused|composed", attn_kernel);
  TLM_CHECK(layout == "uniform" || layout == "hwfa", "GPTConfig.layout: '{}' is not one of "
            "uniform|hwfa", layout);
  TLM_CHECK(layout != "hwfa" || (pos == "rope" && window > 0 && n_layer >= 2),
            "GPTConfig.layout: hwfa needs pos = rope (window layers), window > 0 and n_layer >= "
            "2, got pos = {}, window = {}, n_layer = {}", pos, window, n_layer);
  TLM_CHECK(gau_expansion > 0, "GPTConfig.gau_expansion: must be > 0, got {}", gau_expansion);
  TLM_CHECK(gau_attn_size > 0, "GPTConfig.gau_attn_size: must be > 0, got {}", gau_attn_size);
  TLM_CHECK(block != "gau" || pos != "rope" || gau_attn_size % 2 == 0, "GPTConfig.gau_attn_size: "
            "pos = rope needs an even attention size, got {}", gau_attn_size);
}

namespace {

const GPTConfig& validated(const GPTConfig& c) {
  c.validate();
  return c;
}


}  // namespace

// Layer `layer`'s options: under layout = hwfa the top layer is full attention without
// positions and with the log-n scale; the others keep pos = rope and the window.
BlockOptions block_options(const GPTConfig& c, int64_t layer) {
  BlockOptions o;
  o.attn.n_embd = c.n_embd;
  o.attn.n_head = c.n_head;
  o.attn.block_size = c.block_size;
  o.attn.bias = c.bias;
  o.attn.dropout = c.dropout;
  o.attn.pos = c.pos;
  o.attn.rope_base = c.rope_base;
  o.attn.attn = c.attn;
  o.attn.attn_scale = c.attn_scale;
  o.attn.window = c.window;
  o.attn.fused = c.attn_kernel == "fused";
  if (c.layout == "hwfa" && layer == c.n_layer - 1) {
    o.attn.pos = "none";
    o.attn.window = 0;
    o.attn.attn_scale = "logn";
  }
  o.norm = c.norm;
  o.norm_type = c.norm_type;
  o.norm_eps = c.norm_eps;
  o.ffn = c.ffn;
  o.n_layer = c.n_layer;
  return o;
}

GPT::GPT(const GPTConfig& config, Rng& rng)
    : wte(validated(config).vocab_size, config.n_embd, rng), drop(config.dropout), config_(config) {
  register_module("wte", wte);
  if (config_.pos == "learned") {
    wpe = std::make_unique<Embedding>(config_.block_size, config_.n_embd, rng);
    register_module("wpe", *wpe);
  }
  register_module("drop", drop);
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    const BlockOptions bo = block_options(config_, i);
    if (config_.block == "gau") {
      GAUBlockOptions go;
      go.block = bo;
      go.expansion_dim = std::max<int64_t>(
          1, std::llround(config_.gau_expansion * static_cast<double>(config_.n_embd)));
      go.attn_dim = config_.gau_attn_size;
      gau.push_back(std::make_unique<GAUBlock>(go, rng));
      register_module("h." + std::to_string(i), *gau.back());
    } else {
      h.push_back(std::make_unique<Block>(bo, rng));
      register_module("h." + std::to_string(i), *h.back());
    }
  }
  if (config_.norm == "pre") {
    ln_f = make_norm(config_.norm_type, config_.n_embd, config_.bias, config_.norm_eps);
    register_module("ln_f", *ln_f);
  }
  if (!config_.tie_weights) {
    lm_head = std::make_unique<Linear>(config_.n_embd, config_.vocab_size, false, rng);
    register_module("lm_head", *lm_head);
  }
}

Tensor GPT::forward(const Tensor& ids, Rng& dropout_rng, KVCache* cache) {
  TLM_CHECK(ids.dim() == 2 && ids.dtype() == DType::I32, "GPT: ids must be int32 [B,T], got {}",
            ids.str());
  const int64_t T = ids.shape()[1];
  const int64_t offset = cache ? cache->length : 0;
  TLM_CHECK(offset + T <= config_.block_size || (!cache && !wpe), "GPT: {} cached + {} new "
            "tokens exceed block_size = {} (only pos = rope | none without a KV cache run longer)",
            offset, T, config_.block_size);
  if (cache) {
    TLM_CHECK(static_cast<int64_t>(cache->layers.size()) == config_.n_layer,
              "GPT: the KV cache has {} layers, the model {} (use make_cache())",
              cache->layers.size(), config_.n_layer);
    TLM_CHECK(cache->capacity == config_.block_size, "GPT: the KV cache holds {} positions, "
              "block_size is {} (use make_cache())", cache->capacity, config_.block_size);
  }
  Tensor x = wte.forward(ids);  // [B,T,C]
  if (wpe) x = add(x, narrow(wpe->weight, 0, offset, T));  // + [T,C]
  x = drop.forward(x, dropout_rng);
  for (size_t i = 0; i < h.size(); ++i)
    x = h[i]->forward(x, dropout_rng, cache ? &cache->layers[i] : nullptr, offset);
  for (size_t i = 0; i < gau.size(); ++i)
    x = gau[i]->forward(x, dropout_rng, cache ? &cache->layers[i] : nullptr, offset);
  if (ln_f) x = ln_f->forward(x);
  Tensor logits = matmul(x, transpose(lm_head_weight(), 0, 1));  // [B,T,V]
  if (cache) cache->length += T;
  return logits;
}

Tensor GPT::generate(const Tensor& prompt, int64_t max_new_tokens, double temperature,
                     int64_t top_k, double top_p, Rng& rng) {
  TLM_CHECK(prompt.dim() == 2 && prompt.dtype() == DType::I32 && prompt.shape()[1] > 0,
            "generate: the prompt must be int32 [B,T] with T > 0, got {}", prompt.str());
  TLM_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}", max_new_tokens);
  NoGradGuard no_grad;
  const bool was_training = training();
  eval();
  const int64_t B = prompt.shape()[0], Tb = config_.block_size;
  std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(B));
  {
    std::vector<int32_t> p = prompt.to_vector<int32_t>();
    for (int64_t b = 0; b < B; ++b)
      seqs[b].assign(p.begin() + b * prompt.shape()[1], p.begin() + (b + 1) * prompt.shape()[1]);
  }
  // Feeds seqs[b][from, to) for every row.
  auto window = [&](int64_t from, int64_t to) {
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < B; ++b) ids.insert(ids.end(), seqs[b].begin() + from, seqs[b].begin() + to);
    return Tensor::from_vector(ids, {B, to - from});
  };
  KVCache cache = make_cache();
  int64_t fed = 0;  // tokens of seqs already in the cache
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const int64_t len = static_cast<int64_t>(seqs[0].size());
    Tensor logits;
    if (fed > 0 && len <= Tb) {
      logits = forward(window(fed, len), rng, &cache);  // only the new tokens
    } else {
      cache.reset();  // first step, or the context is full: recompute the last Tb tokens
      const int64_t from = std::max<int64_t>(0, len - Tb);
      logits = forward(window(from, len), rng, &cache);
    }
    fed = len;
    append_sampled_tokens(logits, seqs, temperature, top_k, top_p, rng);
  }
  train(was_training);
  const int64_t L = static_cast<int64_t>(seqs[0].size());
  std::vector<int32_t> out;
  for (auto& s : seqs) out.insert(out.end(), s.begin(), s.end());
  return Tensor::from_vector(out, {B, L});
}

int64_t GPT::num_non_embedding_parameters() const {
  return num_parameters() - (wpe ? wpe->weight.numel() : 0);
}

double GPT::flops_per_token() const {
  const double N = static_cast<double>(num_non_embedding_parameters());
  const double L = static_cast<double>(config_.n_layer), C = static_cast<double>(config_.n_embd);
  const double T = static_cast<double>(config_.block_size);
  if (config_.block == "gau") {  // q k^T over s and A v over e, forward + backward
    const double e = std::llround(config_.gau_expansion * C);
    return 6.0 * N + 6.0 * L * (static_cast<double>(config_.gau_attn_size) + e) * T;
  }
  return 6.0 * N + 12.0 * L * C * T;
}

}  // namespace tlm::nn
