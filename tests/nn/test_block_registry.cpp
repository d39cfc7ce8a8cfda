// The block registry's entries (nn/block_registry.h): their keys reach the factory through
// GPTConfig::keys (defaults when unset, ranges checked), and each entry's BlockShape -- what
// the memory estimates count without building a block -- is what the built block has.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "nn/block_registry.h"
#include "nn/gau.h"
#include "nn/gpt.h"
#include "tests/common/expect_error.h"

namespace tlm::nn {
namespace {

GPTConfig config(const std::string& block) {
  GPTConfig c;
  c.vocab_size = 13;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 24;
  c.block = block;
  return c;
}

// (in, out) of each Linear in for_each_linear's order, and the parameter count of block 0.
std::pair<std::vector<std::pair<int64_t, int64_t>>, int64_t> built(GPT& model) {
  std::vector<std::pair<int64_t, int64_t>> linears;
  model.h[0]->for_each_linear([&](const std::string&, Linear& l) {
    linears.emplace_back(l.weight.shape()[1], l.weight.shape()[0]);
  });
  int64_t params = 0;
  for (const auto& [name, p] : model.h[0]->named_parameters()) params += p.numel();
  return {linears, params};
}

TEST(BlockRegistry, GauKeysAreEntryKeysWithTheirDefaults) {
  const BlockType& gau = block_registry().get("gau");
  ASSERT_EQ(gau.keys.size(), 2u);
  EXPECT_EQ(gau.keys[0].name, "gau_expansion");
  EXPECT_EQ(gau.keys[0].type, KeyType::Float);
  EXPECT_EQ(gau.keys[0].default_value, "2");
  EXPECT_EQ(gau.keys[1].name, "gau_attn_size");
  EXPECT_EQ(gau.keys[1].type, KeyType::Int);
  EXPECT_EQ(gau.keys[1].default_value, "128");
  EXPECT_TRUE(block_registry().get("transformer").keys.empty());
  // Unset: e = 2 C, s = 128.
  Rng rng(1);
  GPT model(config("gau"), rng);
  const auto& b = dynamic_cast<const GAUBlock&>(*model.h[0]);
  EXPECT_EQ(b.gau.o_dense.weight.shape(), (Shape{24, 48}));
  EXPECT_EQ(b.gau.gamma_q.shape(), (Shape{128}));
}

TEST(BlockRegistry, KeysSetReachTheFactory) {
  GPTConfig c = config("gau");
  c.keys.set("gau_expansion", 1.5).set("gau_attn_size", int64_t{6});
  Rng rng(1);
  GPT model(c, rng);
  const auto& b = dynamic_cast<const GAUBlock&>(*model.h[1]);
  EXPECT_EQ(b.gau.i_dense.weight.shape(), (Shape{2 * 36 + 6, 24}));
  EXPECT_EQ(b.gau.o_dense.weight.shape(), (Shape{24, 36}));
  EXPECT_EQ(block_keys(c).number("gau_expansion"), 1.5);
}

TEST(BlockRegistry, KeysOutOfRangeOrUnknownAreRefusedNamingTheKey) {
  GPTConfig c = config("gau");
  c.keys.set("gau_attn_size", int64_t{0});
  EXPECT_TLM_ERROR(c.validate(), "gau_attn_size = 0", "out of range");
  c = config("gau");
  c.keys.set("gau_expansion", -1.0);
  EXPECT_TLM_ERROR(c.validate(), "gau_expansion", "out of range");
  c = config("gau");
  c.keys.set("gau_expansion", int64_t{3}).set("gau_attn_size", 2.5);  // an int for a float is fine
  EXPECT_TLM_ERROR(c.validate(), "gau_attn_size", "not an integer");
  c = config("transformer");
  c.keys.set("gau_expansoin", 1.0);
  EXPECT_TLM_ERROR(c.validate(), "'gau_expansoin'", "not a key");
  // The entry's own check: RoPE rotates pairs, so s must be even.
  c = config("gau");
  c.pos = nn::Pos::Rope;
  c.keys.set("gau_attn_size", int64_t{7});
  EXPECT_TLM_ERROR(c.validate(), "even gau_attn_size", "got 7");
}

TEST(BlockRegistry, ShapeIsWhatTheBuiltBlockHas) {
  std::vector<GPTConfig> configs;
  for (const char* block : {"transformer", "gau"})
    for (const char* ffn : {"gelu", "swiglu"})
      for (bool bias : {true, false}) {
        GPTConfig c = config(block);
        c.ffn = parse<Ffn>(ffn);
        c.bias = bias;
        c.norm_type = bias ? NormType::LayerNorm : NormType::RMSNorm;
        c.keys.set("gau_expansion", 1.25).set("gau_attn_size", int64_t{10});
        configs.push_back(c);
      }
  for (const GPTConfig& c : configs) {
    SCOPED_TRACE(c.block + " " + name_of(c.ffn) + (c.bias ? " bias" : " no bias"));
    Rng rng(2);
    GPT model(c, rng);
    const auto [linears, params] = built(model);
    const BlockShape s = block_shape(c);
    EXPECT_EQ(s.linears, linears);
    EXPECT_EQ(s.params, params);
    EXPECT_DOUBLE_EQ(s.attention_flops, model.h[0]->attention_flops_per_token(c.block_size));
    EXPECT_EQ(s.rope_dim, c.block == "gau" ? 10 : 12);
    EXPECT_GT(s.saved_half, 0);
    EXPECT_GT(s.saved_full, 0);
  }
}

}  // namespace
}  // namespace tlm::nn
