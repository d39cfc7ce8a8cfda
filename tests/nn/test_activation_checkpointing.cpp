// activation_checkpointing = blocks (GPTConfig::activation_checkpointing, autograd/checkpoint.h):
// every parameter gradient of a whole GPT equals the plain run's, with dropout (to the bit for
// Pre-Norm and GAU, to float32 rounding for Post-Norm and DeepNorm); and less memory is held
// between forward and backward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "autograd/ops.h"
#include "nn/gpt.h"
#include "nn/loss/cross_entropy.h"
#include "tensor/storage.h"

namespace tlm {
namespace {

nn::GPTConfig small(const std::string& block, const std::string& norm) {
  nn::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 16;
  c.n_layer = 3;
  c.n_head = 2;
  c.n_embd = 16;
  c.block = block;
  c.norm = nn::parse<nn::NormPlacement>(norm);
  c.keys.set("gau_attn_size", int64_t{8});
  c.dropout = 0.1;
  return c;
}

struct StepResult {
  std::vector<std::vector<uint32_t>> grads;  // raw bits, in parameter order
  int64_t held_bytes = 0;                    // allocated after forward + loss, before backward
};

StepResult train_step(nn::GPTConfig c, bool checkpointing) {
  c.activation_checkpointing = checkpointing;
  Rng init(42);
  nn::GPT model(c, init);
  std::vector<int32_t> ids, targets;
  for (int32_t i = 0; i < 4 * 16; ++i) ids.push_back((i * 7 + 3) % 11), targets.push_back((i * 5 + 1) % 11);
  Rng dropout_rng(9);
  const int64_t before = memory_stats().current_bytes;
  Tensor logits = model.forward(Tensor::from_vector(ids, {4, 16}), dropout_rng);
  Tensor loss = nn::cross_entropy(reshape(logits, {64, 11}), Tensor::from_vector(targets, {64}));
  StepResult r;
  r.held_bytes = memory_stats().current_bytes - before;
  loss.backward();
  for (const Tensor& p : model.parameters()) {
    Tensor g = p.grad().contiguous();
    std::vector<uint32_t> bits(static_cast<size_t>(g.numel()));
    std::memcpy(bits.data(), g.data<float>(), bits.size() * sizeof(uint32_t));
    r.grads.push_back(std::move(bits));
  }
  return r;
}

// bitwise = false: equal to float32 rounding (|a - b| <= 1e-6 + 1e-5 |a|). Post-Norm and DeepNorm
// come out a few ulps apart (the sums of a gradient's contributions are formed in another order
// by the recomputed graph); Pre-Norm and GAU to the bit.
void expect_same_gradients(const std::string& block, const std::string& norm, bool bitwise = true) {
  StepResult plain = train_step(small(block, norm), false);
  StepResult ckpt = train_step(small(block, norm), true);
  ASSERT_EQ(plain.grads.size(), ckpt.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    if (bitwise) {
      EXPECT_EQ(plain.grads[i], ckpt.grads[i]) << "parameter " << i;
      continue;
    }
    for (size_t k = 0; k < plain.grads[i].size(); ++k) {
      float a, b;
      std::memcpy(&a, &plain.grads[i][k], 4);
      std::memcpy(&b, &ckpt.grads[i][k], 4);
      ASSERT_LE(std::fabs(a - b), 1e-6 + 1e-5 * std::fabs(a)) << "parameter " << i << " entry " << k;
    }
  }
  EXPECT_LT(ckpt.held_bytes, plain.held_bytes);
}

TEST(ActivationCheckpointing, PreNormGradientsBitIdentical) { expect_same_gradients("transformer", "pre"); }
TEST(ActivationCheckpointing, DeepNormGradientsEqualToRounding) { expect_same_gradients("transformer", "deepnorm", false); }
TEST(ActivationCheckpointing, PostNormGradientsEqualToRounding) { expect_same_gradients("transformer", "post", false); }
TEST(ActivationCheckpointing, GauGradientsBitIdentical) { expect_same_gradients("gau", "pre"); }

TEST(ActivationCheckpointing, HoldsLessThanHalfTheActivations) {
  nn::GPTConfig c = small("transformer", "pre");
  c.n_layer = 6;
  c.dropout = 0.0;
  const StepResult plain = train_step(c, false), ckpt = train_step(c, true);
  EXPECT_LT(2 * ckpt.held_bytes, plain.held_bytes) << plain.held_bytes << " vs " << ckpt.held_bytes;
}

}  // namespace
}  // namespace tlm
