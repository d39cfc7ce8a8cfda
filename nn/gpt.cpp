#include "nn/gpt.h"

#include "autograd/checkpoint.h"

#include <algorithm>
#include <cmath>

#include "nn/block_registry.h"
#include "nn/generate.h"

namespace tlm::nn {

namespace {

// GPTConfig.<key> holds a value of E's family (nn/choices.h): a value cast from an integer that
// names no entry is an error "GPTConfig.<key>: value 7 is not one of a|b|c".
template <class E>
E checked_choice(const char* key, E value) {
  TLM_CHECK(find_choice(value) != nullptr, "GPTConfig.{}: value {} is not one of {}", key,
            static_cast<int>(value),
            fmt::join(choices<E>().names(), "|"));
  return value;
}

}  // namespace

void GPTConfig::validate() const {
  TLM_CHECK(vocab_size > 0, "GPTConfig.vocab_size: must be > 0, got {}", vocab_size);
  TLM_CHECK(block_size > 0, "GPTConfig.block_size: must be > 0, got {}", block_size);
  TLM_CHECK(n_layer > 0, "GPTConfig.n_layer: must be > 0, got {}", n_layer);
  TLM_CHECK(n_head > 0, "GPTConfig.n_head: must be > 0, got {}", n_head);
  TLM_CHECK(n_embd > 0, "GPTConfig.n_embd: must be > 0, got {}", n_embd);
  TLM_CHECK(n_embd % n_head == 0, "GPTConfig.n_head: {} does not divide n_embd = {}", n_head,
            n_embd);
  TLM_CHECK(dropout >= 0 && dropout < 1, "GPTConfig.dropout: must be in [0, 1), got {}", dropout);
  checked_choice("norm", norm);
  const Pos p = checked_choice("pos", pos);
  checked_choice("ffn", ffn);
  checked_choice("norm_type", norm_type);
  TLM_CHECK(!rotates_pairs(p) || (n_embd / n_head) % 2 == 0, "GPTConfig.pos: '{}' needs an even "
            "head size, got n_embd / n_head = {}", name_of(p), n_embd / n_head);
  const KeyValues v = key_values();
  TLM_CHECK(v.number("rope_base") > 1, "GPTConfig.rope_base: must be > 1, got {}", v.number("rope_base"));
  TLM_CHECK(block_registry().find(block) != nullptr, "GPTConfig.block: '{}' is not one of {}",
            block, fmt::join(block_registry().names(), "|"));
  checked_choice("attn", attn);
  checked_choice("attn_scale", attn_scale);
  TLM_CHECK(window >= 0 && window <= block_size, "GPTConfig.window: {} must be in [0, "
            "block_size = {}] (0 = full attention)", window, block_size);
  checked_choice("attn_kernel", attn_kernel);
  const Layout l = checked_choice("layout", layout);
  TLM_CHECK(l != Layout::Hwfa || (p == Pos::Rope && window > 0 && n_layer >= 2),
            "GPTConfig.layout: hwfa needs pos = rope (window layers), window > 0 and n_layer >= "
            "2, got pos = {}, window = {}, n_layer = {}", name_of(pos), window, n_layer);
  const std::vector<EntryKey> known = gpt_entry_keys();
  for (const auto& item : keys.items()) {
    const std::string& name = item.first;  // a plain reference: clang 14 cannot capture a binding
    TLM_CHECK(std::any_of(known.begin(), known.end(), [&](const EntryKey& k) { return k.name == name; }),
              "GPTConfig.keys: '{}' is not a key of the model's entries (gpt_entry_keys)", name);
  }
  block_keys(*this);  // the block type's keys in range
  const BlockType& type = block_registry().get(block);
  if (type.check) type.check(*this);
}

namespace {

const GPTConfig& validated(const GPTConfig& c) {
  c.validate();
  return c;
}


}  // namespace

std::vector<EntryKey> gpt_entry_keys() {
  std::vector<EntryKey> out;
  for (const auto& family : {entry_keys(choices<NormType>()), entry_keys(choices<Pos>()),
                             entry_keys(block_registry())})
    for (const EntryKey& k : family) {
      const bool seen = std::any_of(out.begin(), out.end(), [&](const EntryKey& o) { return o.name == k.name; });
      TLM_CHECK(!seen, "GPTConfig: key '{}' is named by two families", k.name);
      out.push_back(k);
    }
  return out;
}

KeyValues GPTConfig::key_values() const { return with_defaults(gpt_entry_keys(), keys, "GPTConfig"); }

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
  const KeyValues v = c.key_values();
  o.attn.rope_base = v.number("rope_base");
  o.attn.attn = c.attn;
  o.attn.attn_scale = c.attn_scale;
  o.attn.window = c.window;
  o.attn.fused = c.attn_kernel == AttnKernel::Fused;
  if (c.layout == Layout::Hwfa && layer == c.n_layer - 1) {
    o.attn.pos = Pos::None;
    o.attn.window = 0;
    o.attn.attn_scale = AttnScale::LogN;
  }
  o.norm = c.norm;
  o.norm_type = c.norm_type;
  o.norm_eps = v.number("norm_eps");
  o.ffn = c.ffn;
  o.n_layer = c.n_layer;
  return o;
}

GPT::GPT(const GPTConfig& config, Rng& rng)
    : wte(validated(config).vocab_size, config.n_embd, rng), drop(config.dropout), config_(config) {
  register_module("wte", wte);
  if (choice_of(config_.pos).impl.learned_table) {
    wpe = std::make_unique<Embedding>(config_.block_size, config_.n_embd, rng);
    register_module("wpe", *wpe);
  }
  register_module("drop", drop);
  const BlockType& type = block_registry().get(config_.block);
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    h.push_back(type.make(config_, i, rng));
    register_module("h." + std::to_string(i), *h.back());
  }
  if (config_.norm == NormPlacement::Pre) {
    ln_f = make_norm(config_.norm_type, config_.n_embd, config_.bias,
                     config_.key_values().number("norm_eps"));
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
  Tensor x = embed(ids, offset, dropout_rng);  // [B,T,C]
  for (size_t i = 0; i < h.size(); ++i) {
    if (config_.activation_checkpointing && !cache) {
      // Only the block's input is kept; backward recomputes the block (autograd/checkpoint.h).
      Block& block = *h[i];
      auto f = [&block, offset](const Tensor& in, Rng& r) { return block.forward(in, r, nullptr, offset); };
      x = autograd::checkpoint(f, x, dropout_rng, block.parameters());
    } else {
      x = h[i]->forward(x, dropout_rng, cache ? &cache->layers[i] : nullptr, offset);
    }
  }
  if (ln_f) x = ln_f->forward(x);
  Tensor logits = matmul(x, transpose(lm_head_weight(), 0, 1));  // [B,T,V]
  if (cache) cache->length += T;
  return logits;
}

Tensor GPT::embed(const Tensor& ids, int64_t offset, Rng& dropout_rng) {
  TLM_CHECK(ids.dim() == 2 && ids.dtype() == DType::I32, "GPT: ids must be int32 [B,T], got {}",
            ids.str());
  const int64_t T = ids.shape()[1];
  TLM_CHECK(!wpe || offset + T <= config_.block_size, "GPT: positions {} .. {} exceed block_size "
            "= {} (learned positions)", offset, offset + T - 1, config_.block_size);
  Tensor x = wte.forward(ids);                              // [B,T,C]
  if (wpe) x = add(x, narrow(wpe->weight, 0, offset, T));  // + [T,C]
  return drop.forward(x, dropout_rng);
}

Tensor GPT::generate(const Tensor& prompt, int64_t max_new_tokens, double temperature,
                     int64_t top_k, double top_p, Rng& rng) {
  const bool was_training = training();
  eval();
  KVCache cache = make_cache();
  Tensor out;
  try {
    out = nn::generate(prompt, max_new_tokens, {temperature, top_k, top_p}, config_.block_size,
                       [&](const Tensor& ids, KVCache* c) { return forward(ids, rng, c); }, &cache,
                       rng);
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  return out;
}

int64_t GPT::num_non_embedding_parameters() const {
  return num_parameters() - (wpe ? wpe->weight.numel() : 0);
}

double GPT::flops_per_token() const {
  const double N = static_cast<double>(num_non_embedding_parameters());
  double scores = 0;
  for (const auto& b : h) scores += b->attention_flops_per_token(config_.block_size);
  return 6.0 * N + scores;
}

}  // namespace tlm::nn
