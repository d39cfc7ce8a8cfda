// LoRA (nn/lora.h): float64 gradient checks of the adapters (on a Linear and through a whole
// GPT, where c_attn's adapter is split into q/k/v row blocks; and through a GAU GPT), the
// forward against the merged
// weight W + (alpha/r) B A, bit-for-bit equality with the base model at init (B = 0), frozen
// base weights, and bad options.
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"
#include "nn/gpt.h"
#include "nn/lora.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;

nn::GPTConfig tiny() {
  nn::GPTConfig c;
  c.vocab_size = 7;
  c.block_size = 5;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  return c;
}

// block = gau: the adapters go on i_dense and o_dense (Block::for_each_linear).
nn::GPTConfig tiny_gau() {
  nn::GPTConfig c = tiny();
  c.block = "gau";
  c.keys.set("gau_attn_size", int64_t{4});
  return c;
}

void randomize_b(nn::Module& m, uint64_t seed) {
  NoGradGuard g;
  for (auto& [name, p] : m.named_parameters())
    if (name.size() >= 6 && name.compare(name.size() - 6, 6, "lora.B") == 0)
      Tensor(p).copy_from(randn64(p.shape(), seed++, 0.5).to(p.dtype()));
}

TEST(LoRA, LinearGradcheckAndMergedForm) {
  Rng rng(1);
  nn::Linear lin(5, 6, true, rng);
  lin.attach_lora({.rank = 3, .alpha = 6.0}, rng);
  lin.to(DType::F64);
  lin.weight.set_requires_grad(false);
  lin.bias.set_requires_grad(false);
  randomize_b(lin, 7);
  EXPECT_DOUBLE_EQ(lin.lora->scale(), 2.0);
  Tensor x = randn64({2, 4, 5}, 3);
  // y = x (W + 2 B A)^T + b
  Tensor merged = add(lin.weight, mul(matmul(lin.lora->B, lin.lora->A), 2.0));
  Tensor ref = add(matmul(x, transpose(merged, 0, 1)), lin.bias);
  EXPECT_LT(max_abs_diff(lin.forward(x), ref), 1e-12);
  expect_parameter_grads(lin, [&] { return weighted_sum(lin.forward(x)); }, {.trainable_only = true});
  // The input gradient too (the adapter's path into x).
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return lin.forward(in[0]); }, {x});
}

TEST(LoRA, AtInitEqualsBaseModelBitForBit) {
  Rng r1(5), r2(5);
  nn::GPT base(tiny(), r1), tuned(tiny(), r2);
  Rng lr(9);
  EXPECT_EQ(nn::apply_lora(tuned, {.rank = 4, .alpha = 8.0}, lr), 8);
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, {2, 5});
  Rng d1(3), d2(3);
  std::vector<float> a = base.forward(ids, d1).to_vector<float>();
  std::vector<float> b = tuned.forward(ids, d2).to_vector<float>();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "logit " << i;
  // Only the adapters are trainable: 2 blocks x 4 Linears x (A, B).
  int64_t trainable = 0;
  for (auto& [name, p] : tuned.named_parameters())
    if (p.requires_grad()) {
      ++trainable;
      EXPECT_NE(name.find(".lora."), std::string::npos) << name;
    }
  EXPECT_EQ(trainable, 16);
}

void check_whole_gpt(const nn::GPTConfig& c) {
  Rng rng(2);
  nn::GPT model(c, rng);
  nn::GPT merged(c, rng);
  nn::apply_lora(model, {.rank = 2, .alpha = 3.0}, rng);
  model.to(DType::F64);
  merged.to(DType::F64);
  randomize_b(model, 11);
  // merged = base weights + (alpha/r) B A: the same function without adapters.
  {
    NoGradGuard g;
    auto src = model.state_dict();
    for (auto& [name, p] : merged.named_parameters()) {
      Tensor v = src.at(name);
      const std::string stem = name.substr(0, name.size() - 7);  // strip ".weight"
      if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && src.count(stem + ".lora.A"))
        v = add(v, mul(matmul(src.at(stem + ".lora.B"), src.at(stem + ".lora.A")), 1.5));
      Tensor(p).copy_from(v);
    }
  }
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, {2, 5});
  Tensor targets = Tensor::from_vector(std::vector<int32_t>{6, 0, 3, 3, 2, 5, 4, 0, 1, 6}, {2, 5});
  Rng d(3);
  EXPECT_LT(max_abs_diff(model.forward(ids, d), merged.forward(ids, d)), 1e-12);
  auto loss = [&] {
    Tensor logits = model.forward(ids, d);
    return add(weighted_sum(logits), reference_cross_entropy(logits, targets));
  };
  expect_parameter_grads(model, loss, {.trainable_only = true});
  // The frozen base received no gradient.
  for (auto& [name, p] : model.named_parameters())
    if (!p.requires_grad()) {
      EXPECT_FALSE(p.grad().defined()) << name;
    }
}

TEST(LoRA, WholeGPTAdapterGradientsAndMergedEquivalence) { check_whole_gpt(tiny()); }
TEST(LoRA, WholeGauGPTAdapterGradientsAndMergedEquivalence) { check_whole_gpt(tiny_gau()); }

TEST(LoRA, GauAtInitEqualsBaseModelBitForBit) {
  Rng r1(5), r2(5);
  nn::GPT base(tiny_gau(), r1), tuned(tiny_gau(), r2);
  Rng lr(9);
  EXPECT_EQ(nn::apply_lora(tuned, {.rank = 4, .alpha = 8.0}, lr), 4);  // 2 blocks x 2 Linears
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, {2, 5});
  Rng d1(3), d2(3);
  std::vector<float> a = base.forward(ids, d1).to_vector<float>();
  std::vector<float> b = tuned.forward(ids, d2).to_vector<float>();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "logit " << i;
  std::vector<std::string> adapted;
  for (auto& [name, p] : tuned.named_parameters())
    if (p.requires_grad()) adapted.push_back(name);
  EXPECT_EQ(adapted, (std::vector<std::string>{
                         "h.0.gau.i_dense.lora.A", "h.0.gau.i_dense.lora.B",
                         "h.0.gau.o_dense.lora.A", "h.0.gau.o_dense.lora.B",
                         "h.1.gau.i_dense.lora.A", "h.1.gau.i_dense.lora.B",
                         "h.1.gau.o_dense.lora.A", "h.1.gau.o_dense.lora.B"}));
}

TEST(LoRA, BadOptionsAreRefused) {
  Rng rng(1);
  nn::GPT model(tiny(), rng);
  EXPECT_TLM_ERROR(nn::apply_lora(model, {.rank = 0, .alpha = 1.0}, rng), "lora_rank");
  EXPECT_TLM_ERROR(nn::apply_lora(model, {.rank = 2, .alpha = 0.0}, rng), "lora_alpha");
  nn::apply_lora(model, {.rank = 2, .alpha = 2.0}, rng);
  EXPECT_TLM_ERROR(nn::apply_lora(model, {.rank = 2, .alpha = 2.0}, rng), "already attached");
}

}  // namespace
}  // namespace tlm
