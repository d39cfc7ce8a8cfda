// The typed families of nn/choices.h name their keys and factories: pos = rope reads rope_base,
// both norm types read norm_eps, and norm_type's entries build the norm (make_norm has no
// switch). A GPTConfig carries those keys by name (GPTConfig::keys) into every layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/attention_weights.h"
#include "nn/choices.h"
#include "nn/attention.h"
#include "nn/mlp.h"
#include "nn/gpt.h"
#include "nn/norm.h"
#include "nn/transformer_block.h"
#include "tests/common/expect_error.h"

namespace tlm::nn {
namespace {

std::vector<std::string> key_names(const std::vector<EntryKey>& keys) {
  std::vector<std::string> out;
  for (const EntryKey& k : keys) out.push_back(k.name);
  return out;
}

TEST(Choices, EntriesNameTheKeysOnlyTheyRead) {
  EXPECT_EQ(key_names(choices<Pos>().get("rope").keys), std::vector<std::string>{"rope_base"});
  EXPECT_TRUE(choices<Pos>().get("learned").keys.empty());
  EXPECT_TRUE(choices<Pos>().get("none").keys.empty());
  for (const char* n : {"layernorm", "rmsnorm"})
    EXPECT_EQ(key_names(choices<NormType>().get(n).keys), std::vector<std::string>{"norm_eps"}) << n;
  // Shared by both norm types, listed once; the defaults are the documented ones.
  const std::vector<EntryKey> eps = entry_keys(choices<NormType>());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].default_value, "1e-5");
  EXPECT_EQ(entry_keys(choices<Pos>())[0].default_value, "10000");
  const std::vector<std::string> model = key_names(gpt_entry_keys());
  for (const char* k : {"rope_base", "norm_eps", "gau_expansion", "gau_attn_size"})
    EXPECT_EQ(std::count(model.begin(), model.end(), k), 1) << k;
}

TEST(Choices, NormTypeEntriesBuildTheirNorm) {
  for (const auto& c : choices<NormType>().entries()) ASSERT_NE(c.impl, nullptr) << c.name;
  auto ln = make_norm(NormType::LayerNorm, 6, /*bias=*/false, 1e-3);
  auto* l = dynamic_cast<LayerNorm*>(ln.get());
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->eps, 1e-3);
  EXPECT_FALSE(l->bias.defined());
  EXPECT_EQ(l->weight.shape(), (Shape{6}));
  auto rms = make_norm(NormType::RMSNorm, 6, /*bias=*/true, 1e-4);
  auto* r = dynamic_cast<RMSNorm*>(rms.get());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->eps, 1e-4);
  EXPECT_EQ(r->weight.shape(), (Shape{6}));  // the gain; RMSNorm has no bias
}

GPTConfig tiny() {
  GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.pos = nn::Pos::Rope;
  c.norm_type = nn::NormType::RMSNorm;
  return c;
}

TEST(Choices, KeysReachEveryLayerByName) {
  GPTConfig c = tiny();
  {
    Rng rng(1);
    GPT m(c, rng);  // unset: the defaults
    const auto& b = dynamic_cast<const TransformerBlock&>(*m.h[1]);
    EXPECT_EQ(b.attn.options().rope_base, 10000);
    EXPECT_EQ(dynamic_cast<const RMSNorm&>(*m.ln_f).eps, 1e-5);
  }
  c.keys.set("rope_base", 500.0).set("norm_eps", 1e-6);
  Rng rng(1);
  GPT m(c, rng);
  for (const auto& block : m.h) {
    const auto& b = dynamic_cast<const TransformerBlock&>(*block);
    EXPECT_EQ(b.attn.options().rope_base, 500);
    EXPECT_EQ(dynamic_cast<const RMSNorm&>(*b.ln_1).eps, 1e-6);
    EXPECT_EQ(dynamic_cast<const RMSNorm&>(*b.ln_2).eps, 1e-6);
  }
  EXPECT_EQ(dynamic_cast<const RMSNorm&>(*m.ln_f).eps, 1e-6);
  c.keys.set("norm_eps", -1.0);
  EXPECT_TLM_ERROR(c.validate(), "norm_eps = -1", "out of range");
}

// The ffn entries select the activation and gating nn/mlp.h documents; the MLP follows its entry.
TEST(Choices, FfnEntriesSelectTheirActivationAndGating) {
  struct Want {
    Ffn ffn;
    Tensor (*activation)(const Tensor&);
    bool gated;
  };
  for (const Want& w : {Want{Ffn::Gelu, gelu, false}, Want{Ffn::GeluTanh, gelu_tanh, false},
                        Want{Ffn::GeGLU, gelu, true}, Want{Ffn::SwiGLU, silu, true}}) {
    const FfnForm& f = choice_of(w.ffn).impl;
    EXPECT_EQ(f.activation, w.activation) << name_of(w.ffn);
    EXPECT_EQ(f.gated, w.gated) << name_of(w.ffn);
    Rng rng(3);
    MLP mlp(8, 16, w.ffn, /*bias=*/true, 0.0, rng);
    EXPECT_EQ(mlp.c_fc.weight.shape(), (Shape{w.gated ? 32 : 16, 8})) << name_of(w.ffn);
    // y = c_proj(form(c_fc(x))), computed here from the entry's description.
    Tensor x = Tensor::randn({2, 3, 8}, rng);
    Tensor h = mlp.c_fc.forward(x);
    if (w.gated) {
      std::vector<Tensor> ab = chunk(h, 2, -1);
      h = mul(w.activation(ab[0]), ab[1]);
    } else {
      h = w.activation(h);
    }
    Rng unused(0);
    EXPECT_EQ(mlp.forward(x, unused).to_vector<float>(), mlp.c_proj.forward(h).to_vector<float>())
        << name_of(w.ffn);
  }
}

// Only softmax has a fused kernel: relu2 runs composed even when fused is requested.
TEST(Choices, AttentionEntriesSayWhichHaveAFusedKernel) {
  EXPECT_NE(choice_of(AttnKind::Softmax).impl.fused, nullptr);
  EXPECT_EQ(choice_of(AttnKind::Relu2).impl.fused, nullptr);
  for (const auto& c : choices<AttnKind>().entries()) EXPECT_NE(c.impl.weights, nullptr) << c.name;
  AttentionWeightOptions o;
  o.attn = AttnKind::Relu2;
  EXPECT_FALSE(fused_attention_applies(o, /*requested=*/true, /*needs_weights=*/false, DType::F32));
  o.attn = AttnKind::Softmax;
  EXPECT_TRUE(fused_attention_applies(o, true, false, DType::F32));
}

// The pos entries say where each scheme acts: learned adds a table, rope rotates q and k (so
// needs an even head size), none does neither; the model follows (wpe only for learned).
TEST(Choices, PositionEntriesSayWhereTheyAct) {
  EXPECT_TRUE(choice_of(Pos::Learned).impl.learned_table);
  EXPECT_EQ(choice_of(Pos::Learned).impl.rotate, nullptr);
  EXPECT_FALSE(choice_of(Pos::Rope).impl.learned_table);
  EXPECT_EQ(choice_of(Pos::Rope).impl.rotate, rope_rotate);
  EXPECT_FALSE(choice_of(Pos::None).impl.learned_table);
  EXPECT_EQ(choice_of(Pos::None).impl.rotate, nullptr);
  EXPECT_TRUE(rotates_pairs(Pos::Rope));
  EXPECT_FALSE(rotates_pairs(Pos::Learned));
  for (Pos p : {Pos::Learned, Pos::Rope, Pos::None}) {
    GPTConfig c;
    c.vocab_size = 11, c.n_layer = 1, c.n_head = 2, c.n_embd = 8, c.block_size = 6, c.pos = p;
    Rng rng(1);
    GPT g(c, rng);
    EXPECT_EQ(g.wpe != nullptr, p == Pos::Learned) << name_of(p);
  }
  // rope_rotate is RoPE: position 0 is unrotated, and a rotation keeps each pair's norm.
  Rng rng(2);
  Tensor q = Tensor::randn({1, 1, 3, 4}, rng), k = Tensor::randn({1, 1, 3, 4}, rng);
  Tensor q0 = q, k0 = k;
  RopeTables tables;
  rope_rotate(q, k, tables, /*offset=*/0, /*block_size=*/3, /*base=*/10000);
  const std::vector<float> a = q0.to_vector<float>(), b = q.to_vector<float>();
  for (int j = 0; j < 4; ++j) EXPECT_FLOAT_EQ(b[j], a[j]);  // position 0
  for (int i = 1; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {  // adjacent pairs (2j, 2j+1) at position i (autograd/ops/rope.h)
      const int x = i * 4 + 2 * j, y = x + 1;
      EXPECT_NEAR(b[x] * b[x] + b[y] * b[y], a[x] * a[x] + a[y] * a[y], 1e-5);
    }
  EXPECT_NE(k.to_vector<float>(), k0.to_vector<float>());
}

// norm_parameters, what the size and memory estimates count, is the parameter count of the norm
// make_norm builds, for each type with and without a bias.
TEST(Choices, NormParametersCountWhatMakeNormBuilds) {
  for (const auto& c : choices<NormType>().entries())
    for (bool bias : {false, true}) {
      auto norm = make_norm(c.value, 12, bias, 1e-5);
      int64_t n = 0;
      for (const auto& [name, p] : norm->named_parameters()) n += p.numel();
      EXPECT_EQ(norm_parameters(c.value, 12, bias), n) << c.name << " bias " << bias;
    }
}

}  // namespace
}  // namespace tlm::nn
