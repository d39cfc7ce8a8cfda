// Block: what every block type of the GPT stack implements. GPT (nn/gpt.h) holds one
// std::vector<std::unique_ptr<Block>> h, built by the block registry (nn/block_registry.h) from
// GPTConfig::block, and never branches on the type; LoRA (nn/lora.h), Ladder Side-Tuning
// (nn/lst.h) and `tlm diag` (train/diag/diag.h) reach a block only through this interface.
//
//   transformer  x + Attn(LN(x)), then + MLP(LN(x)) (and post / deepnorm)  nn/transformer_block.h
//   gau          x + GAU(LN(x)) (FLASH's gated attention unit)              nn/gau.h
//   parallel     x + Attn(LN(x)) + MLP(LN(x)) (GPT-J / PaLM)                examples/new_block_parallel.cpp
//
// A block's parameters are registered under its own names (ln_1, attn.c_attn, gau.i_dense, ...);
// GPT registers block i as "h.i", so checkpoints name them h.i.ln_1.weight and so on.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "nn/attention.h"
#include "nn/attention_probe.h"
#include "nn/choices.h"
#include "nn/linear.h"

namespace tlm::nn {

// The options every block type reads: the attention's (width, heads, positions, dropout, bias)
// and the residual/norm layout. GPT fills them per layer with block_options() (nn/gpt.h).
struct BlockOptions {
  AttentionOptions attn;                // width, heads, positions, dropout, bias
  NormPlacement norm = NormPlacement::Pre;    // pre | post | deepnorm
  NormType norm_type = NormType::LayerNorm;  // layernorm | rmsnorm
  double norm_eps = 1e-5;
  Ffn ffn = Ffn::Gelu;                       // gelu | gelu_tanh | geglu | swiglu
  int64_t mlp_hidden = 0;               // 0: MLP::default_hidden(C, ffn)
  int64_t n_layer = 1;                  // N: blocks in the model (init scale, DeepNorm alpha/beta)
  void validate() const;
};

// Where `tlm diag cost` files a block parameter.
enum class CostComponent { Attention, Mlp, Norms, Other };

class Block : public Module {
 public:
  // x [B,T,C] -> [B,T,C]. cache: this layer's keys and values (inference, under NoGradGuard);
  // offset: the position of x's first token (the number of cached tokens).
  virtual Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr,
                         int64_t offset = 0) = 0;

  // fn(name, linear) for every Linear the block owns, in registration order; name is relative
  // to the block ("attn.c_attn"). LoRA attaches its adapters through this.
  using LinearVisitor = std::function<void(const std::string& name, Linear& linear)>;
  virtual void for_each_linear(const LinearVisitor& fn) = 0;

  // Diagnostics: from now on every forward adds the block's attention probabilities to `probe`
  // (nullptr: stop). Recording takes the unfused path (the probabilities must exist).
  virtual void set_attention_probe(AttentionProbe* probe) = 0;

  // Training FLOPs per token of the attention products that have no weights (scores and the
  // weighted sum), forward + backward, at context T. GPT::flops_per_token adds 6 per weight.
  virtual double attention_flops_per_token(int64_t T) const = 0;

  // The component of parameter `name` (relative to the block, e.g. "attn.c_attn.weight").
  virtual CostComponent component_of(const std::string& name) const = 0;
};

}  // namespace tlm::nn
