// A Transformer block: attention and MLP sub-layers, each with a residual connection, the
// normalisation placed by `norm` (METHODS.md sections 1-2):
//
//   "pre":      x = x + Attn(LN1(x));        x = x + MLP(LN2(x))        (GPT-2)
//   "post":     x = LN1(x + Attn(x));        x = LN2(x + MLP(x))        (original Transformer)
//   "deepnorm": x = LN1(alpha x + Attn(x));  x = LN2(alpha x + MLP(x))  (DeepNet, arXiv:2203.00555)
//
// DeepNorm (decoder-only, N blocks): alpha = (2N)^(1/4), and Xavier-normal init with gain
// beta = (8N)^(-1/4) for the value projection (rows 2C..3C of the fused c_attn), the output
// projection, c_fc and c_proj of the MLP; the q, k rows get gain 1.
// Otherwise (GPT-2 / nanoGPT): every weight N(0, 0.02), biases 0, and the residual outputs
// (attn.c_proj, mlp.c_proj) N(0, 0.02 / sqrt(2N)).
//
//   nn::BlockOptions o;  o.attn.n_embd = 128;  o.norm = "deepnorm";  o.n_layer = 48;
//   nn::Block block(o, rng);
//   Tensor y = block.forward(x, rng);     // [B,T,C] -> [B,T,C]
#pragma once

#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/mlp.h"
#include "nn/norm.h"

namespace tlm::nn {

struct BlockOptions {
  AttentionOptions attn;                // width, heads, positions, dropout, bias
  std::string norm = "pre";             // pre | post | deepnorm
  std::string norm_type = "layernorm";  // layernorm | rmsnorm
  double norm_eps = 1e-5;
  std::string ffn = "gelu";             // gelu | gelu_tanh | geglu | swiglu
  int64_t mlp_hidden = 0;               // 0: MLP::default_hidden(C, ffn)
  int64_t n_layer = 1;                  // N: blocks in the model (init scale, DeepNorm alpha/beta)
  void validate() const;
};

class Block : public Module {
 public:
  Block(const BlockOptions& options, Rng& rng);
  // x [B,T,C] -> [B,T,C]; cache/offset as in CausalSelfAttention::forward.
  Tensor forward(const Tensor& x, Rng& rng, KVCache::Layer* cache = nullptr, int64_t offset = 0);

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

}  // namespace tlm::nn
