// TransformerBlock (block = transformer, nn/block.h): attention and MLP sub-layers, each with a residual connection, the
// normalisation placed by `norm` (docs/methods.md, "Norms and their placement" and "DeepNorm"):
//
//   pre:       x = x + Attn(LN1(x));        x = x + MLP(LN2(x))        (GPT-2)
//   post:      x = LN1(x + Attn(x));        x = LN2(x + MLP(x))        (original Transformer)
//   deepnorm:  x = LN1(alpha x + Attn(x));  x = LN2(alpha x + MLP(x))  (DeepNet, arXiv:2203.00555)
//
// DeepNorm (decoder-only, N blocks): alpha = (2N)^(1/4), and Xavier-normal init with gain
// beta = (8N)^(-1/4) for the value projection (rows 2C..3C of the fused c_attn), the output
// projection, c_fc and c_proj of the MLP; the q, k rows get gain 1.
// Otherwise (GPT-2 / nanoGPT): every weight N(0, 0.02), biases 0, and the residual outputs
// (attn.c_proj, mlp.c_proj) N(0, 0.02 / sqrt(2N)).
//
//   nn::BlockOptions o;  o.attn.n_embd = 128;  o.norm = nn::NormPlacement::DeepNorm;  o.n_layer = 48;
//   nn::TransformerBlock block(o, rng);
//   Tensor y = block.forward(x, rng);     // [B,T,C] -> [B,T,C]
#pragma once

#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/block.h"
#include "nn/block_registry.h"
#include "nn/mlp.h"
#include "nn/norm.h"

namespace tlm::nn {

class TransformerBlock : public Block {
 public:
  TransformerBlock(const BlockOptions& options, Rng& rng);
  // x [B,T,C] -> [B,T,C]; cache/offset as in CausalSelfAttention::forward.
  Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr,
                 int64_t offset = 0) override;
  // attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj
  void for_each_linear(const LinearVisitor& fn) override;
  void set_attention_probe(AttentionProbe* probe) override { attn.probe = probe; }
  // q k^T and att v: 2 matmuls x 2 FLOPs x T x C per token, x3 for forward + backward.
  double attention_flops_per_token(int64_t T) const override;
  CostComponent component_of(const std::string& name) const override;
  const BlockOptions& options() const { return opt_; }

  double alpha() const { return alpha_; }  // the residual scale: (2N)^(1/4) for deepnorm, else 1

  std::unique_ptr<Norm> ln_1;  // [C] before attention (pre) or after the first residual
  CausalSelfAttention attn;
  std::unique_ptr<Norm> ln_2;  // [C]
  MLP mlp;

 private:
  void init_weights_(Rng& rng);
  BlockOptions opt_;
  double alpha_ = 1.0;
};

// The registry entry of block = transformer (nn/block_registry.h: no keys of its own) and the
// size of one such block of config c (its Linears, parameters, attention FLOPs, saved floats).
BlockType transformer_block_type();
BlockShape transformer_block_shape(const GPTConfig& c);
// The same for one block of options o (LST's side blocks: a width and MLP size of their own).
BlockShape transformer_block_shape(const BlockOptions& o);

}  // namespace tlm::nn
