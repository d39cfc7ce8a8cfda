// Causal self-attention: against a head-by-head composition of core ops (masked_fill +
// softmax), gradient checks for each position scheme, the KV cache, options and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/expect_error.h"
#include "autograd/ops/rope.h"
#include "nn/attention.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;
using In = const std::vector<Tensor>&;

nn::AttentionOptions small_options(const std::string& pos) {
  nn::AttentionOptions o;
  o.n_embd = 8;
  o.n_head = 2;
  o.block_size = 8;
  o.pos = nn::parse<nn::Pos>(pos);
  return o;
}

// The textbook computation, one head at a time, with an explicit -inf mask.
Tensor reference_attention(nn::CausalSelfAttention& a, const Tensor& x, int64_t window = 0) {
  const auto& o = a.options();
  const int64_t T = x.size(1), C = o.n_embd, H = o.n_head, D = C / H;
  Tensor qkv = a.c_attn.forward(x);
  std::vector<int32_t> m(static_cast<size_t>(T * T));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m[i * T + j] = j > i || (window > 0 && j <= i - window);
  Tensor mask = Tensor::from_vector(m, {T, T});
  RopeTables tab = rope_tables(T, D, o.rope_base, x.dtype());
  std::vector<Tensor> heads;
  for (int64_t h = 0; h < H; ++h) {
    Tensor q = narrow(qkv, 2, h * D, D), k = narrow(qkv, 2, C + h * D, D);
    Tensor v = narrow(qkv, 2, 2 * C + h * D, D);
    if (o.pos == nn::Pos::Rope) {
      q = rope(q, tab);
      k = rope(k, tab);
    }
    Tensor att = mul(matmul(q, transpose(k)), 1.0 / std::sqrt(static_cast<double>(D)));
    att = softmax(masked_fill(att, mask, -INFINITY), -1);
    heads.push_back(matmul(att, v));
  }
  return a.c_proj.forward(concat(heads, 2));
}

TEST(Attention, MatchesTheHeadByHeadReference) {
  for (const char* pos : {"none", "rope"}) {
    Rng rng(1);
    nn::CausalSelfAttention attn(small_options(pos), rng);
    attn.to(DType::F64);
    Tensor x = randn64({2, 5, 8}, 2);
    EXPECT_LT(max_abs_diff(attn.forward(x, rng), reference_attention(attn, x)), 1e-13) << pos;
  }
}

TEST(Attention, SlidingWindowMatchesTheReference) {
  Rng rng(3);
  nn::AttentionOptions o = small_options("rope");
  o.window = 2;
  nn::CausalSelfAttention attn(o, rng);
  attn.to(DType::F64);
  Tensor x = randn64({1, 6, 8}, 4);
  EXPECT_LT(max_abs_diff(attn.forward(x, rng), reference_attention(attn, x, 2)), 1e-13);
}

TEST(Attention, GradcheckInputAndParametersForEachPosition) {
  for (const char* pos : {"none", "learned", "rope"}) {
    Rng rng(5);
    nn::CausalSelfAttention attn(small_options(pos), rng);
    attn.to(DType::F64);
    for (auto& [name, p] : attn.named_parameters()) {  // larger weights: sharper softmax
      NoGradGuard g;
      Tensor(p).copy_from(randn64(p.shape(), 6, 0.5));
    }
    EXPECT_GRADCHECK([&](In v) { return attn.forward(v[0], rng); }, {randn64({2, 4, 8}, 7)});
    EXPECT_GRADCHECK([&](In v) { return attn.forward(v[0], rng); }, {randn64({1, 1, 8}, 8)});
    Tensor x = randn64({2, 3, 8}, 9);
    expect_parameter_grads(attn, [&] { return weighted_sum(attn.forward(x, rng)); });
  }
}

TEST(Attention, KVCacheStepByStepEqualsFullRecomputation) {
  for (const char* pos : {"none", "rope"}) {
    Rng rng(10);
    nn::CausalSelfAttention attn(small_options(pos), rng);
    Tensor x = Tensor::randn({2, 7, 8}, rng);
    NoGradGuard no_grad;
    Tensor full = attn.forward(x, rng);  // [2,7,8]
    nn::KVCache cache(1, 8);
    // A chunk of 3, then one token at a time.
    std::vector<Tensor> outs{attn.forward(narrow(x, 1, 0, 3), rng, &cache.layers[0], 0)};
    for (int64_t t = 3; t < 7; ++t) outs.push_back(attn.forward(narrow(x, 1, t, 1), rng, &cache.layers[0], t));
    EXPECT_LT(max_abs_diff(concat(outs, 1), full), 1e-5) << pos;
  }
}

TEST(Attention, KVCacheRefusesGradModeAndOverflow) {
  Rng rng(11);
  nn::CausalSelfAttention attn(small_options("rope"), rng);
  nn::KVCache cache(1, 8);
  EXPECT_THROW(attn.forward(Tensor::zeros({1, 2, 8}), rng, &cache.layers[0], 0), Error);
  NoGradGuard no_grad;
  EXPECT_THROW(attn.forward(Tensor::zeros({1, 3, 8}), rng, &cache.layers[0], 6), Error);
}

TEST(Attention, OptionsAreValidatedByName) {
  Rng rng(12);
  auto expect_error = [&](nn::AttentionOptions o, const std::string& what) {
    try {
      nn::CausalSelfAttention a(o, rng);
      ADD_FAILURE() << "accepted " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  nn::AttentionOptions o = small_options("none");
  o.n_head = 3;
  expect_error(o, "n_head = 3 does not divide n_embd = 8");
  EXPECT_TLM_ERROR(nn::parse<nn::Pos>("alibi"), "pos: 'alibi' is not one of learned|rope|none");
  o = small_options("rope");
  o.n_head = 8;  // D = 1: odd
  expect_error(o, "even head size");
  try {
    nn::CausalSelfAttention a(small_options("none"), rng);
    a.forward(Tensor::zeros({2, 3, 6}), rng);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention: input [2,3,6]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlm
