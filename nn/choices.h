// The choices of nn/'s option families as typed values. Each family is a Registry
// (nn/registry.h) of Choice entries -- the name a config uses, the value, one line of help, the
// config keys only that choice reads (EntryKeys, appended to the config's table from here), and
// where the family selects a module, the factory that builds it -- so a name is parsed once,
// where a config is read (train/io/config.cpp), and GPTConfig, the options and modules hold the enum:
//
//   nn::NormPlacement p = nn::parse<nn::NormPlacement>("deepnorm");  // unknown: error naming
//   const std::string& s = nn::name_of(p);                             // the key and the names
//   for (const auto& c : nn::choices<nn::Ffn>().entries()) ...          // gelu, gelu_tanh, geglu, swiglu
//
//   family          key          names                              keys, what a choice selects (impl)
//   NormPlacement   norm         pre | post | deepnorm         (nn/transformer_block.h)
//   NormType        norm_type    layernorm | rmsnorm           (nn/norm.h)   norm_eps; the Norm
//   Ffn             ffn          gelu | gelu_tanh | geglu | swiglu  (nn/mlp.h)  its FfnForm
//   Pos             pos          learned | rope | none         (nn/attention.h)  rope: rope_base; its PositionForm
//   AttnKind        attn         softmax | relu2               (nn/attention_weights.h)  its AttentionForm
//   AttnScale       attn_scale   sqrt | logn                   (nn/attention_weights.h)
//   AttnKernel      attn_kernel  fused | composed              (nn/attention_weights.h)
//   Layout          layout       uniform | hwfa                (nn/gpt.h)
//   LstOutput       lst_output   side | residual               (nn/lst.h)
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "nn/entry_key.h"
#include "nn/registry.h"

namespace tlm {
class Tensor;       // tensor/tensor.h
struct RopeTables;  // autograd/ops/rope.h
}

namespace tlm::nn {

class Norm;                     // nn/norm.h
struct AttentionWeightOptions;  // nn/attention_weights.h

enum class NormPlacement { Pre, Post, DeepNorm };
enum class NormType { LayerNorm, RMSNorm };
enum class Ffn { Gelu, GeluTanh, GeGLU, SwiGLU };
enum class Pos { Learned, Rope, None };
enum class AttnKind { Softmax, Relu2 };
enum class AttnScale { Sqrt, LogN };
enum class AttnKernel { Fused, Composed };
enum class Layout { Uniform, Hwfa };
enum class LstOutput { Side, Residual };

// What a choice of family E selects (nothing for most families).
template <class E>
struct ChoiceFactory {
  using type = std::nullptr_t;
};
// norm_type: a factory of the norm over the last axis of width dim (bias: LayerNorm's beta;
// eps: norm_eps).
template <>
struct ChoiceFactory<NormType> {
  using type = std::unique_ptr<Norm> (*)(int64_t dim, bool bias, double eps);
};

// ffn: the nonlinearity between the MLP's c_fc and c_proj (nn/mlp.h). A plain form returns
// activation(h) for h = c_fc(x) [.., H]; a gated form has c_fc output [.., 2H], reads it as gate
// a (first H) and value b, and returns activation(a) * b.
struct FfnForm {
  Tensor (*activation)(const Tensor&) = nullptr;  // gelu, gelu_tanh or silu (autograd/ops.h)
  bool gated = false;
};
template <>
struct ChoiceFactory<Ffn> {
  using type = FfnForm;
};

// pos: where a position scheme acts -- a learned table added to the token embeddings (GPT's wpe,
// which limits the length to block_size), and/or a rotation of queries and keys inside every
// attention (CausalSelfAttention, GAU). A scheme with neither is NoPE.
struct PositionForm {
  bool learned_table = false;
  // q, k [..., T, D] of positions offset .. offset+T-1 -> rotated in place of the inputs (D even);
  // tables: the attention's sin/cos cache, grown as needed; nullptr: attention sees no positions.
  void (*rotate)(Tensor& q, Tensor& k, RopeTables& tables, int64_t offset, int64_t block_size,
                 double base) = nullptr;
};
template <>
struct ChoiceFactory<Pos> {
  using type = PositionForm;
};
// Whether pos rotates pairs of q/k features (so needs an even head size).
bool rotates_pairs(Pos pos);

// attn: how raw scores S = q k^T become attention weights (nn/attention_weights.h), and, where
// the form has one, the tiled kernel that computes A v without holding A.
struct AttentionForm {
  // scores [..., Tq, Tk] -> A (zero at masked entries), queries from position `offset` on.
  Tensor (*weights)(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset) = nullptr;
  // q, k, v [B,H,T,D] -> A v; nullptr: this form runs composed only.
  Tensor (*fused)(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionWeightOptions& o,
                  int64_t offset) = nullptr;
};
template <>
struct ChoiceFactory<AttnKind> {
  using type = AttentionForm;
};

template <class E>
struct Choice {
  std::string name;  // the config value
  E value;
  std::string help;
  std::vector<EntryKey> keys = {};            // config keys only this choice reads (rope: rope_base)
  typename ChoiceFactory<E>::type impl = {};  // what it selects (norm_type: a factory; ffn, attn:
                                              // their functions), else nullptr
};

// A family's registry from its config key and entries (what each choices<E>() builds once).
template <class E>
Registry<Choice<E>> family(const char* key, std::initializer_list<Choice<E>> entries) {
  Registry<Choice<E>> r(key);
  for (const auto& e : entries) r.add(e);
  return r;
}

// The family of E (specialised for each enum above, in choices.cpp).
template <class E>
const Registry<Choice<E>>& choices();

// The value named `name`; an unknown name is an error "<key>: 'x' is not one of a|b|c".
template <class E>
E parse(const std::string& name) {
  return choices<E>().get(name).value;
}

// The entry of a value, or nullptr for a value cast from an integer that names no entry.
template <class E>
const Choice<E>* find_choice(E value) {
  for (const auto& c : choices<E>().entries())
    if (c.value == value) return &c;
  return nullptr;
}

// The entry of a value.
template <class E>
const Choice<E>& choice_of(E value) {
  if (const Choice<E>* c = find_choice(value)) return *c;
  TLM_FAIL("{}: no entry for value {}", choices<E>().key(), static_cast<int>(value));
}

// The config name of a value.
template <class E>
const std::string& name_of(E value) {
  return choice_of(value).name;
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
