// The feed-forward sub-layer of a Transformer block.
//
//   "gelu":   y = c_proj(GELU(c_fc(x)))                  c_fc [H, C], GELU exact (erf)
//   "gelu_tanh": the same with GPT-2's tanh approximation (Hendrycks & Gimpel, arXiv:1606.08415)
//             GELU(u) ~ 0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3)))   (HF's "gelu_new")
//   "geglu":  y = c_proj(GELU(x W_a) * (x W_b))           c_fc [2H, C] = [W_a; W_b] fused
//   "swiglu": y = c_proj(SiLU(x W_a) * (x W_b))           (Shazeer, arXiv:2002.05202)
//
//   nn::MLP mlp(C, nn::MLP::default_hidden(C, nn::Ffn::SwiGLU), nn::Ffn::SwiGLU, /*bias=*/false,
//               0.0, rng);
//   Tensor y = mlp.forward(x, rng);    // [B,T,C] -> [B,T,C]
//
// The names c_fc / c_proj follow GPT-2 so nanoGPT checkpoints map one to one. A new feed-forward
// form is one entry of the ffn family in nn/choices.cpp (its activation, gated or not).
#pragma once

#include "nn/choices.h"
#include "nn/dropout.h"
#include "nn/linear.h"

namespace tlm::nn {

class MLP : public Module {
 public:
  MLP(int64_t n_embd, int64_t hidden, Ffn ffn, bool bias, double dropout, Rng& rng);
  Tensor forward(const Tensor& x, Rng& rng) const;

  // 4C for "gelu"; for the GLU variants 8C/3 rounded up to a multiple of 8, so the three
  // matrices hold about as many parameters as the two of the 4C GELU MLP.
  static int64_t default_hidden(int64_t n_embd, Ffn ffn);
  bool gated() const { return form_.gated; }
  int64_t hidden() const { return hidden_; }

  Linear c_fc;      // weight [H, C] ("gelu") or [2H, C] (GLU: gate rows, then value rows)
  Linear c_proj;    // weight [C, H]
  Dropout dropout;  // on the output (residual dropout)

 private:
  FfnForm form_;  // the ffn entry's activation and gating (nn/choices.cpp)
  int64_t hidden_;
};

}  // namespace tlm::nn
