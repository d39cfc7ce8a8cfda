#include "nn/mlp.h"

namespace tlm::nn {

int64_t MLP::default_hidden(int64_t n_embd, Ffn ffn) {
  if (!choice_of(ffn).impl.gated) return 4 * n_embd;  // gelu, gelu_tanh
  const int64_t h = (8 * n_embd + 2) / 3;
  return (h + 7) / 8 * 8;
}

MLP::MLP(int64_t n_embd, int64_t hidden, Ffn ffn, bool bias, double p, Rng& rng)
    : c_fc(n_embd, choice_of(ffn).impl.gated ? 2 * hidden : hidden, bias, rng),
      c_proj(hidden, n_embd, bias, rng),
      dropout(p),
      form_(choice_of(ffn).impl),
      hidden_(hidden) {
  register_module("c_fc", c_fc);
  register_module("c_proj", c_proj);
  register_module("dropout", dropout);
}

Tensor MLP::forward(const Tensor& x, Rng& rng) const {
  Tensor h = c_fc.forward(x);  // [B,T,H] or [B,T,2H]
  if (form_.gated) {
    std::vector<Tensor> ab = chunk(h, 2, -1);  // two [B,T,H] views: gate a, value b
    h = mul(form_.activation(ab[0]), ab[1]);
  } else {
    h = form_.activation(h);
  }
  return dropout.forward(c_proj.forward(h), rng);
}

}  // namespace tlm::nn
