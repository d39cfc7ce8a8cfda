// Multi-head causal self-attention (Vaswani et al., arXiv:1706.03762), with RoPE and a KV
// cache for generation.
//
//   nn::AttentionOptions o;  o.n_embd = 128; o.n_head = 4; o.pos = nn::Pos::Rope; o.block_size = 64;
//   nn::CausalSelfAttention attn(o, rng);
//   Tensor y = attn.forward(x, rng);                 // x [B,T,C] -> [B,T,C]
//
//   q, k, v = x W_{q,k,v}^T + b (row blocks of c_attn) viewed as [B,H,T,D]  (D = C/H)
//   q, k   <- RoPE(q), RoPE(k)                        (pos = rope)
//   y      = A(q k^T) v     A = causal_softmax(scale S) (fused), or the relu^2 / log-n variants
//                           of nn/attention_weights.h (attn, attn_scale)
//   out    = dropout(c_proj(y viewed as [B,T,C]))
//
// Variants go in AttentionOptions (scale, window, ...) and in the normaliser call, so a new
// one (relu^2 attention, log-n scaling) is an option and a branch, not a new class.
#pragma once

#include <vector>

#include "autograd/ops/rope.h"
#include "nn/attention_probe.h"
#include "nn/choices.h"
#include "nn/dropout.h"
#include "nn/linear.h"

namespace tlm::nn {

// The pos = rope entry's rotation (nn/choices.h PositionForm): q, k [..., T, D] <- RoPE(q), RoPE(k)
// at positions offset .. offset+T-1, theta_i = base^(-2i/D) (RoFormer, arXiv:2104.09864).
void rope_rotate(Tensor& q, Tensor& k, RopeTables& tables, int64_t offset, int64_t block_size,
                 double base);

struct AttentionOptions {
  int64_t n_embd = 128;      // C
  int64_t n_head = 4;        // H; D = C / H
  int64_t block_size = 64;   // the longest context (RoPE tables, KV cache capacity)
  bool bias = true;          // biases of c_attn and c_proj
  double dropout = 0.0;      // on the attention probabilities and on the output
  Pos pos = Pos::None;       // rope | learned | none (learned positions are added by the model)
  double rope_base = 10000;  // theta_i = base^(-2i/D)
  double scale = 0.0;        // score scale; 0 means 1/sqrt(D)
  int64_t window = 0;        // > 0: each query sees only the last `window` keys (sliding window)
  AttnKind attn = AttnKind::Softmax;       // softmax | relu2 (relu(c S)^2 / n; nn/attention_weights.h)
  AttnScale attn_scale = AttnScale::Sqrt;  // sqrt: c = scale | logn: c = scale * log_{block_size}(n)
  bool fused = true;  // softmax attention through the tiled kernel (fused_attention_applies)
  void validate() const;     // throws tlm::Error naming the option
};

// Keys and values of every layer for the tokens generated so far.
//
//   KVCache cache = model.make_cache();
//   logits = model.forward(prompt, rng, &cache);   // fills positions [0, T0)
//   logits = model.forward(next, rng, &cache);     // one token at position T0, attends to all
//
// Inference only (run under NoGradGuard): the cache is written in place.
struct KVCache {
  struct Layer {
    Tensor k;  // [B,H,capacity,D] keys (already rotated when pos = rope)
    Tensor v;  // [B,H,capacity,D] values
  };
  std::vector<Layer> layers;
  int64_t length = 0;    // tokens cached = the position of the next token
  int64_t capacity = 0;  // the most tokens it can hold: the model's block_size, which
                         // sizes each layer's buffers

  KVCache() = default;
  KVCache(int64_t n_layer, int64_t capacity_) : layers(n_layer), capacity(capacity_) {}
  void reset() { length = 0; }  // keeps the buffers
};

class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(const AttentionOptions& options, Rng& rng);

  // x [B,T,C]. Without a cache, the T tokens are positions offset .. offset+T-1 (offset only
  // moves RoPE). With a cache, they follow the `offset` cached tokens: their k, v are written
  // at [offset, offset+T) and the queries attend to all offset+T keys.
  Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr, int64_t offset = 0);

  const AttentionOptions& options() const { return opt_; }
  int64_t head_dim() const { return opt_.n_embd / opt_.n_head; }

  Linear c_attn;         // weight [3C, C]: rows q (0..C), k (C..2C), v (2C..3C)
  Linear c_proj;         // weight [C, C]
  Dropout attn_dropout;  // on the attention probabilities [B,H,T,T]
  Dropout resid_dropout; // on the output [B,T,C]
  AttentionProbe* probe = nullptr;  // diagnostics: records per-head entropy when set (off by default)

 private:
  AttentionOptions opt_;
  RopeTables rope_;  // [P, D/2] built on first use (in the input's dtype)
};

}  // namespace tlm::nn
