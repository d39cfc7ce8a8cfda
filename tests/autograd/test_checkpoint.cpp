// Activation checkpointing (autograd/checkpoint.h): the gradients of a checkpointed function
// are those of the plain one: by finite differences in float64, and bit for bit in float32
// with dropout and under bf16; and the memory held between forward and backward shrinks.
#include <gtest/gtest.h>

#include <cstring>

#include "autograd/checkpoint.h"
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/ops/norm.h"
#include "autograd/precision.h"
#include "tensor/storage.h"

namespace tlm {
namespace {

// A residual block in miniature: y = x + dropout(gelu(LN(x) W1 + b1)) W2. x feeds two ops (the
// residual and the norm), so its gradient is a sum, as in a Transformer block.
Tensor mini_block(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2, Rng& rng,
                  double p_drop) {
  Tensor h = gelu(add(matmul(layer_norm(x, Tensor(), Tensor(), 1e-5), w1), b1));
  if (p_drop > 0) h = dropout(h, p_drop, rng, /*training=*/true);
  return add(x, matmul(h, w2));
}

struct Weights {
  Tensor w1, b1, w2;
  Weights(int64_t c, int64_t hidden, uint64_t seed, DType dtype) {
    Rng rng(seed);
    w1 = Tensor::randn({c, hidden}, rng, 0.3, dtype).set_requires_grad(true);
    b1 = Tensor::randn({hidden}, rng, 0.1, dtype).set_requires_grad(true);
    w2 = Tensor::randn({hidden, c}, rng, 0.3, dtype).set_requires_grad(true);
  }
  std::vector<Tensor> list() const { return {w1, b1, w2}; }
  void zero_grad() {
    for (Tensor t : list()) t.zero_grad();
  }
};

// `depth` blocks in a row, each checkpointed or not, then a loss that weighs every output.
Tensor chain(const Tensor& x, const std::vector<Weights>& blocks, Rng& rng, double p_drop,
             bool use_checkpoint) {
  Tensor h = x;
  for (const Weights& w : blocks) {
    auto f = [&w, p_drop](const Tensor& in, Rng& r) {
      return mini_block(in, w.w1, w.b1, w.w2, r, p_drop);
    };
    h = use_checkpoint ? autograd::checkpoint(f, h, rng, w.list()) : f(h, rng);
  }
  return sum(mul(h, h));
}

// The raw bits of a float32 tensor (NaN-safe equality, unlike comparing floats).
std::vector<uint32_t> bytes_of(const Tensor& t) {
  Tensor c = t.contiguous();
  std::vector<uint32_t> out(static_cast<size_t>(c.numel()));
  std::memcpy(out.data(), c.data<float>(), out.size() * sizeof(uint32_t));
  return out;
}

TEST(Checkpoint, GradcheckFloat64) {
  Rng init(7);
  Tensor x = Tensor::randn({3, 5, 4}, init, 1.0, DType::F64);
  Tensor w1 = Tensor::randn({4, 6}, init, 0.4, DType::F64);
  Tensor b1 = Tensor::randn({6}, init, 0.1, DType::F64);
  Tensor w2 = Tensor::randn({6, 4}, init, 0.4, DType::F64);
  auto fn = [](const std::vector<Tensor>& in) {
    Rng rng(99);  // the same dropout masks at every evaluation of the finite differences
    auto f = [&in](const Tensor& h, Rng& r) { return mini_block(h, in[1], in[2], in[3], r, 0.25); };
    Tensor y = autograd::checkpoint(f, in[0], rng, {in[1], in[2], in[3]});
    return autograd::checkpoint(f, y, rng, {in[1], in[2], in[3]});  // two in a row, shared weights
  };
  GradcheckResult r = gradcheck(fn, {x, w1, b1, w2});
  EXPECT_TRUE(r.ok) << r.message;
}

// The same chain, plain and checkpointed: every gradient identical to the bit.
// backward_in_scope = false runs backward after the precision scope has closed: the
// recomputation must still run under the forward's precision.
void expect_bit_identical(Precision precision, double p_drop, bool backward_in_scope = true) {
  const int64_t B = 2, T = 16, C = 32, H = 64;
  std::vector<Weights> blocks;
  for (uint64_t i = 0; i < 3; ++i) blocks.emplace_back(C, H, 100 + i, DType::F32);
  Rng xr(5);
  Tensor x = Tensor::randn({B, T, C}, xr).set_requires_grad(true);

  std::vector<std::vector<uint32_t>> plain, ckpt;
  for (bool use_checkpoint : {false, true}) {
    for (Weights& w : blocks) w.zero_grad();
    x.zero_grad();
    Rng rng(2024);
    Tensor loss;
    {
      PrecisionGuard scope(precision);
      loss = chain(x, blocks, rng, p_drop, use_checkpoint);
      if (backward_in_scope) loss.backward();
    }
    if (!backward_in_scope) loss.backward();
    auto& out = use_checkpoint ? ckpt : plain;
    out.push_back(bytes_of(x.grad()));
    for (const Weights& w : blocks)
      for (const Tensor& t : w.list()) out.push_back(bytes_of(t.grad()));
  }
  ASSERT_EQ(plain.size(), ckpt.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i], ckpt[i]) << "gradient " << i;
}

TEST(Checkpoint, GradientsBitIdenticalFloat32) { expect_bit_identical(Precision::F32, 0.0); }
TEST(Checkpoint, GradientsBitIdenticalWithDropout) { expect_bit_identical(Precision::F32, 0.2); }
TEST(Checkpoint, GradientsBitIdenticalUnderBf16) { expect_bit_identical(Precision::BF16, 0.2); }
TEST(Checkpoint, RecomputesUnderTheForwardsPrecision) {
  expect_bit_identical(Precision::BF16, 0.0, /*backward_in_scope=*/false);
}

TEST(Checkpoint, TheRngAdvancesAsWithoutCheckpointing) {
  Weights w(8, 16, 3, DType::F32);
  Rng xr(1);
  Tensor x = Tensor::randn({4, 8}, xr).set_requires_grad(true);
  Rng a(77), b(77);
  chain(x, {w}, a, 0.5, false);
  chain(x, {w}, b, 0.5, true);
  EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(Checkpoint, HoldsOnlyTheBlockInputsBetweenForwardAndBackward) {
  const int64_t B = 4, T = 64, C = 64, H = 256, depth = 6;
  std::vector<Weights> blocks;
  for (uint64_t i = 0; i < depth; ++i) blocks.emplace_back(C, H, 10 + i, DType::F32);
  Rng xr(5);
  Tensor x = Tensor::randn({B, T, C}, xr).set_requires_grad(true);
  int64_t held[2];
  for (bool use_checkpoint : {false, true}) {
    const int64_t before = memory_stats().current_bytes;
    Rng rng(1);
    Tensor loss = chain(x, blocks, rng, 0.0, use_checkpoint);
    held[use_checkpoint] = memory_stats().current_bytes - before;
    loss.backward();
  }
  // Plain: each block keeps LN(x), the hidden pre-activation and gelu output (~ C + 2H floats a
  // token) besides its input; checkpointed: the input and output of each block only.
  const int64_t block_io = B * T * C * 4;
  EXPECT_LE(held[1], (depth + 2) * block_io) << "checkpointed held " << held[1];
  EXPECT_GT(held[0], 3 * held[1]) << "plain " << held[0] << ", checkpointed " << held[1];
}

TEST(Checkpoint, WithoutGradModeItIsThePlainFunction) {
  Weights w(8, 16, 3, DType::F32);
  Rng xr(1);
  Tensor x = Tensor::randn({4, 8}, xr).set_requires_grad(true);
  NoGradGuard no_grad;
  Rng a(3), b(3);
  Tensor plain = chain(x, {w}, a, 0.0, false);
  Tensor ckpt = chain(x, {w}, b, 0.0, true);
  EXPECT_FALSE(ckpt.requires_grad());
  EXPECT_EQ(plain.item(), ckpt.item());
}

}  // namespace
}  // namespace tlm
