// Gated Attention Unit (FLASH-Quad, Hua et al., arXiv:2202.10447; docs/methods.md, "GAU") and
// the block that wraps it in a residual with the norm placements of nn/transformer_block.h
// (block = gau, nn/block.h).
//
//   U = silu(X W_u),  V = silu(X W_v),  Z = silu(X W_z)      one fused i_dense [2e+s, C]
//   Q = Z * gamma_q + beta_q,  K = Z * gamma_k + beta_k       per-dimension scale and offset [s]
//   Q, K <- RoPE(Q), RoPE(K)                                  (pos = rope)
//   A = attention_weights(Q K^T)                              softmax | relu2, sqrt | logn, c = 1/sqrt(s)
//   O = (U * (A V)) W_o                                       o_dense [C, e]
//
// Single head. Init: dense kernels N(0, 0.02) (o_dense N(0, 0.02/sqrt(2N))), gamma = 1,
// beta = 0 (bert4keras); DeepNorm: Xavier gain beta_DN on W_u, W_v, W_o, gain 1 on W_z.
//
// block = gau (nn/block_registry.h: gau_block_type) reads two keys of its own, e = round(
// gau_expansion * C) and s = gau_attn_size (even under RoPE).
//
//   nn::GAUBlockOptions o;  o.block.attn.n_embd = 64;  o.expansion_dim = 128;  o.attn_dim = 32;
//   nn::GAUBlock block(o, rng);
//   Tensor y = block.forward(x, rng);     // [B,T,C] -> [B,T,C]
#pragma once

#include <memory>

#include "nn/block.h"
#include "nn/block_registry.h"
#include "nn/norm.h"

namespace tlm::nn {

struct GAUBlockOptions {
  BlockOptions block;         // norm placement, norm type, n_layer, attention options (n_head unused)
  int64_t expansion_dim = 0;  // e (0: 2C)
  int64_t attn_dim = 128;     // s, the shared Z / query-key size
  void validate() const;
  int64_t e() const { return expansion_dim > 0 ? expansion_dim : 2 * block.attn.n_embd; }
};

class GAU : public Module {
 public:
  GAU(const GAUBlockOptions& options, Rng& rng);
  // x [B,T,C]; cache/offset as in CausalSelfAttention::forward (cache k [B,cap,s], v [B,cap,e]).
  Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr, int64_t offset = 0);

  Linear i_dense;        // weight [2e+s, C]: rows U (0..e), V (e..2e), Z (2e..2e+s)
  Linear o_dense;        // weight [C, e]
  Tensor gamma_q, gamma_k;  // [s] per-dimension scales (1-D: no weight decay)
  Tensor beta_q, beta_k;    // [s] offsets
  Dropout attn_dropout;  // on A [B,T,T]
  Dropout resid_dropout; // on the output [B,T,C]
  AttentionProbe* probe = nullptr;  // diagnostics: records A as one head when set (off by default)

 private:
  GAUBlockOptions opt_;
  RopeTables rope_;  // [P, s/2]
};

class GAUBlock : public Block {
 public:
  GAUBlock(const GAUBlockOptions& options, Rng& rng);
  // pre: x + GAU(LN(x));  post / deepnorm: LN(alpha x + GAU(x))
  Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr,
                 int64_t offset = 0) override;
  double alpha() const { return alpha_; }
  // gau.i_dense, gau.o_dense
  void for_each_linear(const LinearVisitor& fn) override;
  // A [B,T,T] recorded as one head.
  void set_attention_probe(AttentionProbe* probe) override { gau.probe = probe; }
  // q k^T over s and A v over e: 2 T (s + e) per token forward, x3 with backward.
  double attention_flops_per_token(int64_t T) const override;
  // ln: norms; everything of the unit (its dense kernels replace the MLP too): attention.
  CostComponent component_of(const std::string& name) const override;

  std::unique_ptr<Norm> ln;  // [C]
  GAU gau;

 private:
  GAUBlockOptions opt_;
  double alpha_ = 1.0;
};

// The registry entry of block = gau: its keys gau_expansion and gau_attn_size, its factory,
// the even-s check under RoPE, and the size of one block (params, Linears, saved floats).
BlockType gau_block_type();

}  // namespace tlm::nn
