#include "nn/transformer_block.h"

#include <cmath>

#include "nn/gpt.h"
#include "nn/init.h"

namespace tlm::nn {

namespace {
const BlockOptions& validated(const BlockOptions& o) {
  o.validate();
  return o;
}
}  // namespace

TransformerBlock::TransformerBlock(const BlockOptions& options, Rng& rng)
    : ln_1(make_norm(validated(options).norm_type, options.attn.n_embd, options.attn.bias,
                     options.norm_eps)),
      attn(options.attn, rng),
      ln_2(make_norm(options.norm_type, options.attn.n_embd, options.attn.bias, options.norm_eps)),
      mlp(options.attn.n_embd,
          options.mlp_hidden > 0 ? options.mlp_hidden
                                 : MLP::default_hidden(options.attn.n_embd, options.ffn),
          options.ffn, options.attn.bias, options.attn.dropout, rng),
      opt_(options) {
  register_module("ln_1", *ln_1);
  register_module("attn", attn);
  register_module("ln_2", *ln_2);
  register_module("mlp", mlp);
  if (opt_.norm == NormPlacement::DeepNorm) alpha_ = std::pow(2.0 * static_cast<double>(opt_.n_layer), 0.25);
  init_weights_(rng);
}

void TransformerBlock::init_weights_(Rng& rng) {
  const int64_t C = opt_.attn.n_embd, Hd = mlp.hidden();
  const double N = static_cast<double>(opt_.n_layer);
  if (opt_.norm != NormPlacement::DeepNorm) {
    // Linear weights are N(0, 0.02) already; the residual outputs are scaled down.
    const double std = 0.02 / std::sqrt(2.0 * N);
    init::normal_(attn.c_proj.weight, rng, std);
    init::normal_(mlp.c_proj.weight, rng, std);
    return;
  }
  const double beta = std::pow(8.0 * N, -0.25);
  // Fused c_attn [3C, C]: q and k rows Xavier gain 1, v rows gain beta (each a C x C matrix).
  Tensor qk = narrow(attn.c_attn.weight.detach(), 0, 0, 2 * C);
  Tensor vw = narrow(attn.c_attn.weight.detach(), 0, 2 * C, C);
  init::normal_(qk, rng, init::xavier_normal_std(C, C, 1.0));
  init::normal_(vw, rng, init::xavier_normal_std(C, C, beta));
  init::normal_(attn.c_proj.weight, rng, init::xavier_normal_std(C, C, beta));
  // c_fc is [H, C], or [2H, C] for a GLU: two H x C matrices, each with fan_out H.
  init::normal_(mlp.c_fc.weight, rng, init::xavier_normal_std(C, Hd, beta));
  init::normal_(mlp.c_proj.weight, rng, init::xavier_normal_std(Hd, C, beta));
}

Tensor TransformerBlock::forward(const Tensor& x, Rng& rng, KVCache::Layer* cache, int64_t offset) {
  if (opt_.norm == NormPlacement::Pre) {
    Tensor h = add(x, attn.forward(ln_1->forward(x), rng, cache, offset));
    return add(h, mlp.forward(ln_2->forward(h), rng));
  }
  // post / deepnorm: Norm(alpha x + F(x)); alpha = 1 for post.
  auto skip = [&](const Tensor& t) { return alpha_ == 1.0 ? t : mul(t, alpha_); };
  Tensor h = ln_1->forward(add(skip(x), attn.forward(x, rng, cache, offset)));
  return ln_2->forward(add(skip(h), mlp.forward(h, rng)));
}

void TransformerBlock::for_each_linear(const LinearVisitor& fn) {
  fn("attn.c_attn", attn.c_attn);
  fn("attn.c_proj", attn.c_proj);
  fn("mlp.c_fc", mlp.c_fc);
  fn("mlp.c_proj", mlp.c_proj);
}

double TransformerBlock::attention_flops_per_token(int64_t T) const {
  return 12.0 * static_cast<double>(opt_.attn.n_embd) * static_cast<double>(T);
}

CostComponent TransformerBlock::component_of(const std::string& name) const {
  if (name.rfind("attn.", 0) == 0) return CostComponent::Attention;
  if (name.rfind("mlp.", 0) == 0) return CostComponent::Mlp;
  if (name.rfind("ln_", 0) == 0) return CostComponent::Norms;
  return CostComponent::Other;
}

BlockShape transformer_block_shape(const BlockOptions& o) {
  const int64_t C = o.attn.n_embd;
  const int64_t F = o.mlp_hidden > 0 ? o.mlp_hidden : MLP::default_hidden(C, o.ffn);
  const bool gated = choice_of(o.ffn).impl.gated;
  const bool bias = o.attn.bias;
  BlockShape s;
  s.linears = {{C, 3 * C}, {C, C}, {C, gated ? 2 * F : F}, {F, C}};  // c_attn, c_proj, c_fc, c_proj
  s.params = 2 * norm_parameters(o.norm_type, C, bias);  // ln_1, ln_2
  for (const auto& [in, out] : s.linears) s.params += in * out + (bias ? out : 0);
  const double Cd = static_cast<double>(C), Fd = static_cast<double>(F);
  const double H = static_cast<double>(o.attn.n_head), T = static_cast<double>(o.attn.block_size);
  s.attention_flops = 12.0 * Cd * T;
  // Saved per token (train/launch/memory_estimate.h): x, the norms' outputs, q k v, the
  // attention output and projection, the MLP's input, hidden (x2 gated) and activation; the
  // attention probabilities [H,T] and the softmax and norm statistics stay fp32.
  s.saved_full = H * T + H + 4;
  s.saved_half = 8 * Cd + (gated ? 4 : 2) * Fd;
  if (o.attn.dropout > 0) s.saved_full += 2 * Cd + 2 * H * T;  // the dropout masks
  s.rope_dim = C / o.attn.n_head;
  return s;
}

BlockShape transformer_block_shape(const GPTConfig& c) { return transformer_block_shape(block_options(c, 0)); }

BlockType transformer_block_type() {
  return {"transformer", "attention + MLP", {},
          [](const GPTConfig& c, int64_t layer, Rng& rng) -> std::unique_ptr<Block> {
            return std::make_unique<TransformerBlock>(block_options(c, layer), rng);
          },
          {}, [](const GPTConfig& c) { return transformer_block_shape(c); }};
}

}  // namespace tlm::nn
