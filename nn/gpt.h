// GPT: a decoder-only Transformer language model (GPT-2 / nanoGPT layout, plus the variants
// of docs/methods.md: post-norm, DeepNorm, RoPE, RMSNorm, GLU feed-forwards, GAU, HWFA).
//
//   nn::GPTConfig cfg;  cfg.vocab_size = 65;              // the rest: nanoGPT's CPU recipe
//   Rng rng(1337);
//   nn::GPT model(cfg, rng);
//   Tensor logits = model.forward(ids, rng);              // ids [B,T] int32 -> [B,T,V]
//   Tensor out = model.generate(prompt, 100, /*temperature=*/0.8, /*top_k=*/0, /*top_p=*/1, rng);
//
// Parameter names follow nanoGPT (wte, wpe, h.0.ln_1, h.0.attn.c_attn, ..., ln_f, lm_head), so
// its checkpoints map one to one. Init matches nanoGPT (tests/nn/test_golden.cpp checks it
// against PyTorch): N(0, 0.02) for every Linear/Embedding weight, zero biases,
// N(0, 0.02/sqrt(2 n_layer)) for the residual output projections; DeepNorm overrides as in
// nn/transformer_block.h. The blocks are of the type GPTConfig::block names in the block
// registry (nn/block_registry.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/block.h"
#include "nn/choices.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/entry_key.h"
#include "nn/norm.h"

namespace tlm::nn {

struct GPTConfig {
  int64_t vocab_size = 0;                 // V
  int64_t block_size = 64;                // the longest context T
  int64_t n_layer = 4;                    // L
  int64_t n_head = 4;                     // H
  int64_t n_embd = 128;                   // C
  double dropout = 0.0;
  bool bias = true;                       // biases in Linear and LayerNorm
  // The choices are the enums of nn/choices.h (a config file's names are parsed once, where the
  // config is read: train/io/config.cpp); block stays a name, looked up once in GPT's constructor.
  NormPlacement norm = NormPlacement::Pre;    // pre | post | deepnorm
  Pos pos = Pos::Learned;                     // learned | rope | none
  Ffn ffn = Ffn::Gelu;                        // gelu | gelu_tanh (GPT-2's gelu_new) | geglu | swiglu
  NormType norm_type = NormType::LayerNorm;   // layernorm | rmsnorm
  bool tie_weights = true;                    // lm_head.weight is wte.weight
  // Architecture variants (docs/methods.md, "Attention weights", "GAU", "HWFA").
  std::string block = "transformer";      // a name of the block registry (nn/block_registry.h):
                                          // transformer (attention + MLP) | gau (nn/gau.h) | ...
  AttnKind attn = AttnKind::Softmax;      // softmax | relu2
  AttnScale attn_scale = AttnScale::Sqrt; // sqrt | logn (log_{block_size} n times 1/sqrt(d))
  int64_t window = 0;                     // sliding-window attention (0 = full causal)
  bool activation_checkpointing = false;  // recompute each block in backward (autograd/checkpoint.h)
  AttnKernel attn_kernel = AttnKernel::Fused;  // fused (tiled, linear memory) | composed (plain ops)
  Layout layout = Layout::Uniform;        // uniform | hwfa: window+RoPE layers, a full NoPE
                                          // log-n layer on top (Su's HWFA, post 9603)
  // The values of the keys the model's entries name, by key (pos = rope: rope_base; norm_type:
  // norm_eps, nn/choices.h; block = gau: gau_expansion, gau_attn_size, nn/block_registry.h); a
  // key not set takes its entry's default.
  KeyValues keys;
  // keys with every key of gpt_entry_keys() that is not set at its default (checked ranges).
  KeyValues key_values() const;
  // Throws tlm::Error naming the key and its allowed values.
  void validate() const;
};

// The config keys the entries of the model's registries name (the norm types', the positions',
// every block type's), each once:
// the keys GPTConfig::keys may hold, which a training config carries over by name.
std::vector<EntryKey> gpt_entry_keys();

// Block `layer`'s options from the model config: under layout = hwfa the top layer is full
// attention without positions and with the log-n scale; the others keep pos = rope and the
// window. (Also used by the LST side network, nn/lst.cpp, at a reduced width.)
BlockOptions block_options(const GPTConfig& c, int64_t layer);

class GPT : public Module {
 public:
  GPT(const GPTConfig& config, Rng& rng);

  // ids [B,T] int32 -> logits [B,T,V]. Without a cache and pos = rope | none, T may exceed
  // block_size (length extrapolation; RoPE tables grow). With a cache, the tokens follow the cache->length
  // cached ones (positions cache->length ..), and the cache advances by T. Dropout draws
  // from dropout_rng (in training mode with dropout > 0).
  Tensor forward(const Tensor& ids, Rng& dropout_rng, KVCache* cache = nullptr);

  // The input of block 0: dropout(wte(ids) + wpe(positions offset .. offset+T-1)), [B,T,C]
  // (forward's first step; Ladder Side-Tuning feeds it to its ladder, nn/lst.h).
  Tensor embed(const Tensor& ids, int64_t offset, Rng& dropout_rng);

  // prompt [B,T0] int32 -> [B, T0 + max_new_tokens]. Uses a KV cache; once the context is
  // full it conditions on the last block_size tokens, recomputed from scratch each step
  // (learned positions shift, so cached keys no longer apply). Runs without grad, in eval
  // mode (the mode is restored after).
  Tensor generate(const Tensor& prompt, int64_t max_new_tokens, double temperature,
                  int64_t top_k, double top_p, Rng& rng);

  KVCache make_cache() const { return KVCache(config_.n_layer, config_.block_size); }

  // Parameters without wpe (bench/torch_gpt.py's non_embedding_params, nanoGPT's
  // num_params(non_embedding=True)): the tied wte stays, it is the output projection.
  int64_t num_non_embedding_parameters() const;
  // Training FLOPs per token, PaLM / nanoGPT accounting (bench/torch_gpt.py flops_per_token):
  // 6 N (2 forward + 4 backward per weight) + each block's attention_flops_per_token(T) (12 C T
  // for q k^T and att v of block = transformer, forward + backward, no causal halving),
  // N = num_non_embedding_parameters(), T = block_size.
  double flops_per_token() const;

  const GPTConfig& config() const { return config_; }
  const Tensor& lm_head_weight() const { return config_.tie_weights ? wte.weight : lm_head->weight; }

  Embedding wte;                               // weight [V, C]
  std::unique_ptr<Embedding> wpe;              // weight [block_size, C] (pos = "learned")
  Dropout drop;
  std::vector<std::unique_ptr<Block>> h;       // L blocks of type config.block, named h.i
  std::unique_ptr<Norm> ln_f;                  // [C] final norm (pre-norm only)
  std::unique_ptr<Linear> lm_head;             // weight [V, C] (untied only)

 private:
  GPTConfig config_;
};

}  // namespace tlm::nn
