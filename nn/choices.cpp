#include "nn/choices.h"

#include <initializer_list>

#include "autograd/ops.h"
#include "nn/attention.h"
#include "nn/attention_weights.h"
#include "nn/norm.h"

namespace tlm::nn {

namespace {

// The key both norm types read (one description, so the config lists it once).
EntryKey norm_eps_key() {
  return EntryKey::number("norm_eps", "1e-5",
                          "epsilon of LayerNorm / RMSNorm (GPT-2: layer_norm_epsilon)",
                          KeyRange::above(0));
}

}  // namespace

template <>
const Registry<Choice<NormPlacement>>& choices<NormPlacement>() {
  static const auto r = family<NormPlacement>(
      "norm", {{"pre", NormPlacement::Pre, "x + F(LN(x)) (GPT-2)"},
               {"post", NormPlacement::Post, "LN(x + F(x)) (the original Transformer)"},
               {"deepnorm", NormPlacement::DeepNorm, "LN(alpha x + F(x)) (DeepNet)"}});
  return r;
}

template <>
const Registry<Choice<NormType>>& choices<NormType>() {
  static const auto r = family<NormType>(
      "norm_type",
      {{"layernorm", NormType::LayerNorm, "LayerNorm", {norm_eps_key()},
        [](int64_t dim, bool bias, double eps) -> std::unique_ptr<Norm> {
          return std::make_unique<LayerNorm>(dim, bias, eps);
        }},
       {"rmsnorm", NormType::RMSNorm, "RMSNorm (no mean, no bias)", {norm_eps_key()},
        [](int64_t dim, bool, double eps) -> std::unique_ptr<Norm> {
          return std::make_unique<RMSNorm>(dim, /*gain=*/true, eps);
        }}});
  return r;
}

template <>
const Registry<Choice<Ffn>>& choices<Ffn>() {
  static const auto r = family<Ffn>(
      "ffn", {{"gelu", Ffn::Gelu, "c_proj(GELU(c_fc(x)))", {}, {gelu, /*gated=*/false}},
              {"gelu_tanh", Ffn::GeluTanh, "GELU's tanh form (GPT-2's gelu_new)", {}, {gelu_tanh, false}},
              {"geglu", Ffn::GeGLU, "GELU-gated linear unit", {}, {gelu, /*gated=*/true}},
              {"swiglu", Ffn::SwiGLU, "SiLU-gated linear unit", {}, {silu, true}}});
  return r;
}

template <>
const Registry<Choice<Pos>>& choices<Pos>() {
  static const auto r = family<Pos>(
      "pos", {{"learned", Pos::Learned, "learned absolute (wpe)", {}, {/*learned_table=*/true, nullptr}},
              {"rope", Pos::Rope, "rotary (RoFormer)",
               {EntryKey::number("rope_base", "10000", "RoPE frequency base theta (pos = rope)",
                                 KeyRange::above(0))},
               {/*learned_table=*/false, rope_rotate}},
              {"none", Pos::None, "no positions (NoPE)", {}, {false, nullptr}}});
  return r;
}

bool rotates_pairs(Pos pos) { return choice_of(pos).impl.rotate != nullptr; }

template <>
const Registry<Choice<AttnKind>>& choices<AttnKind>() {
  static const auto r = family<AttnKind>(
      "attn", {{"softmax", AttnKind::Softmax, "softmax(c S)", {},
                {softmax_attention_weights, softmax_fused_attention}},
               {"relu2", AttnKind::Relu2, "relu(c S)^2 / n (FLASH)", {},
                {relu2_attention_weights, /*fused=*/nullptr}}});
  return r;
}

template <>
const Registry<Choice<AttnScale>>& choices<AttnScale>() {
  static const auto r = family<AttnScale>(
      "attn_scale", {{"sqrt", AttnScale::Sqrt, "c = 1/sqrt(d)"},
                     {"logn", AttnScale::LogN, "c = log_N(n)/sqrt(d) (entropy-invariant)"}});
  return r;
}

template <>
const Registry<Choice<AttnKernel>>& choices<AttnKernel>() {
  static const auto r = family<AttnKernel>(
      "attn_kernel", {{"fused", AttnKernel::Fused, "tiled kernel, memory linear in T"},
                      {"composed", AttnKernel::Composed, "matmul + softmax + matmul"}});
  return r;
}

template <>
const Registry<Choice<Layout>>& choices<Layout>() {
  static const auto r = family<Layout>(
      "layout", {{"uniform", Layout::Uniform, "every layer the same"},
                 {"hwfa", Layout::Hwfa, "window + RoPE layers, a full NoPE log-n layer on top"}});
  return r;
}

template <>
const Registry<Choice<LstOutput>>& choices<LstOutput>() {
  static const auto r = family<LstOutput>(
      "lst_output", {{"side", LstOutput::Side, "logits from the side network (the paper)"},
                     {"residual", LstOutput::Residual, "backbone output + the side's correction"}});
  return r;
}

}  // namespace tlm::nn
