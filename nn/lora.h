// LoRA: a trainable low-rank update beside a frozen Linear (Hu et al., arXiv:2106.09685):
//
//   y = x W^T + b + (alpha / r) (x A^T) B^T,   A [r, in] ~ N(0, 1/in),  B [out, r] = 0
//
// W and b stay frozen; only A and B are trained. B = 0 at init, so a model with adapters
// computes exactly what the base model computes until the first update (the paper, §4.1).
// In tlm the adapters sit on every Linear of every block (Block::for_each_linear: attention
// c_attn, c_proj and MLP c_fc, c_proj of a Transformer block; i_dense, o_dense of a GAU); the
// embeddings, norms and LM head stay frozen. `tlm tune --method lora` (train/tune/tune.h) uses
// it as the baseline of Ladder Side-Tuning (docs/methods.md, "LoRA").
//
//   nn::LoRAOptions o;  o.rank = 8;  o.alpha = 16;
//   int64_t n = nn::apply_lora(gpt, o, rng);   // freezes gpt, attaches n adapters
//   Tensor logits = gpt.forward(ids, rng);      // the adapters are part of every Linear they sit on
#pragma once

#include "nn/module.h"

namespace tlm::nn {

struct LoRAOptions {
  int64_t rank = 8;     // r
  double alpha = 16.0;  // the update is scaled by alpha / r
  void validate() const;  // names lora_rank / lora_alpha
};

class LoRA : public Module {
 public:
  LoRA(int64_t in_features, int64_t out_features, const LoRAOptions& options, Rng& rng);
  // x [..., in] -> the update (alpha/r) (x A^T) B^T [..., out]
  Tensor forward(const Tensor& x) const;
  // Only the output rows [row0, row0 + rows) of the update (a fused projection's part).
  Tensor forward_rows(const Tensor& x, int64_t row0, int64_t rows) const;
  // The dense update (alpha/r) B A [out, in] (tests; merging into W).
  Tensor delta_weight() const;
  double scale() const { return scale_; }

  Tensor A;  // [r, in]
  Tensor B;  // [out, r], zero at init

 private:
  double scale_;
};

class GPT;
// Freezes every parameter of `model` and attaches an adapter to each Linear of each block
// (Block::for_each_linear). Returns the number of adapters (4 per Transformer block, 2 per
// GAU block). Refuses a model that already has adapters.
int64_t apply_lora(GPT& model, const LoRAOptions& options, Rng& rng);

}  // namespace tlm::nn
