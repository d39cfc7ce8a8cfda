// The choices of nn/'s option families as typed values. Each family is a Registry
// (nn/registry.h) of Choice entries -- the name a config uses, the value, one line of help --
// so a name is parsed once, where a config becomes options (GPTConfig, nn/gpt.h:block_options),
// and modules switch on the enum:
//
//   nn::NormPlacement p = nn::parse<nn::NormPlacement>("deepnorm");  // unknown: error naming
//   const std::string& s = nn::name_of(p);                             // the key and the names
//   for (const auto& c : nn::choices<nn::Ffn>().entries()) ...          // gelu, gelu_tanh, geglu, swiglu
//
//   family          key          names
//   NormPlacement   norm         pre | post | deepnorm         (nn/transformer_block.h)
//   NormType        norm_type    layernorm | rmsnorm           (nn/norm.h)
//   Ffn             ffn          gelu | gelu_tanh | geglu | swiglu  (nn/mlp.h)
//   Pos             pos          learned | rope | none         (nn/attention.h)
//   AttnKind        attn         softmax | relu2               (nn/attention_weights.h)
//   AttnScale       attn_scale   sqrt | logn                   (nn/attention_weights.h)
//   AttnKernel      attn_kernel  fused | composed              (nn/attention_weights.h)
//   Layout          layout       uniform | hwfa                (nn/gpt.h)
//   LstOutput       lst_output   side | residual               (nn/lst.h)
#pragma once

#include <string>

#include "nn/registry.h"

namespace tlm::nn {

enum class NormPlacement { Pre, Post, DeepNorm };
enum class NormType { LayerNorm, RMSNorm };
enum class Ffn { Gelu, GeluTanh, GeGLU, SwiGLU };
enum class Pos { Learned, Rope, None };
enum class AttnKind { Softmax, Relu2 };
enum class AttnScale { Sqrt, LogN };
enum class AttnKernel { Fused, Composed };
enum class Layout { Uniform, Hwfa };
enum class LstOutput { Side, Residual };

template <class E>
struct Choice {
  std::string name;  // the config value
  E value;
  std::string help;
};

// The family of E (specialised for each enum above, in choices.cpp).
template <class E>
const Registry<Choice<E>>& choices();

// The value named `name`; an unknown name is an error "<key>: 'x' is not one of a|b|c".
template <class E>
E parse(const std::string& name) {
  return choices<E>().get(name).value;
}

// The config name of a value.
template <class E>
const std::string& name_of(E value) {
  for (const auto& c : choices<E>().entries())
    if (c.value == value) return c.name;
  TLM_FAIL("{}: no name for value {}", choices<E>().key(), static_cast<int>(value));
}

template <> const Registry<Choice<NormPlacement>>& choices<NormPlacement>();
template <> const Registry<Choice<NormType>>& choices<NormType>();
template <> const Registry<Choice<Ffn>>& choices<Ffn>();
template <> const Registry<Choice<Pos>>& choices<Pos>();
template <> const Registry<Choice<AttnKind>>& choices<AttnKind>();
template <> const Registry<Choice<AttnScale>>& choices<AttnScale>();
template <> const Registry<Choice<AttnKernel>>& choices<AttnKernel>();
template <> const Registry<Choice<Layout>>& choices<Layout>();
template <> const Registry<Choice<LstOutput>>& choices<LstOutput>();

}  // namespace tlm::nn
