// GPT under the mixed precision policy (autograd/precision.h; docs/methods.md, "bf16 and fp16"):
// logits and every parameter gradient against fp32 within bounds set by the format's epsilon
// (bf16 2^-8, fp16 2^-11), for each block type and norm placement; and the memory that the saved
// activations hold, measured with memory_stats(), about half of fp32.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/precision.h"
#include "nn/gpt.h"
#include "nn/loss/cross_entropy.h"

namespace tlm {
namespace {

struct GptRun {
  std::vector<float> logits;
  std::vector<std::vector<float>> grads;
  int64_t saved_bytes = 0;  // held after forward + loss, before backward
};

GptRun run(nn::GPT& model, const Tensor& ids, const Tensor& targets, Precision p) {
  PrecisionGuard amp(p);
  for (auto& [name, t] : model.named_parameters()) Tensor(t).zero_grad();
  Rng drop(1);
  const int64_t before = memory_stats().current_bytes;
  Tensor logits = model.forward(ids, drop);
  Tensor loss;
  {
    PrecisionGuard fp32_loss(Precision::F32);
    loss = nn::cross_entropy(reshape(logits, {-1, logits.size(-1)}), reshape(targets, {-1}));
  }
  GptRun r;
  r.logits = logits.to_vector<float>();
  logits = Tensor();
  r.saved_bytes = memory_stats().current_bytes - before;
  loss.backward();
  for (auto& [name, t] : model.named_parameters()) r.grads.push_back(t.grad().to_vector<float>());
  return r;
}

double norm(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += double(v) * v;
  return std::sqrt(s);
}

double diff_norm(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

nn::GPTConfig config(const std::string& block, const std::string& norm) {
  nn::GPTConfig c;
  c.vocab_size = 48;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  c.block = block;
  c.norm = nn::parse<nn::NormPlacement>(norm);
  c.keys.set("gau_attn_size", int64_t{32});
  return c;
}

void check_close_to_fp32(const nn::GPTConfig& cfg) {
  Rng rng(2);
  nn::GPT model(cfg, rng);
  Rng data(3);
  std::vector<int32_t> v(4 * 16), w(4 * 16);
  for (auto& x : v) x = static_cast<int32_t>(data.randint(48));
  for (auto& x : w) x = static_cast<int32_t>(data.randint(48));
  Tensor ids = Tensor::from_vector(v, {4, 16}), targets = Tensor::from_vector(w, {4, 16});
  GptRun r32 = run(model, ids, targets, Precision::F32);
  for (Precision p : {Precision::BF16, Precision::F16}) {
    SCOPED_TRACE(std::string(precision_name(p)));
    const double eps = p == Precision::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
    GptRun r = run(model, ids, targets, p);
    // Each matmul adds a relative error of about eps per rounded operand; through 2 blocks
    // (4-5 rounded products deep, plus the 16-bit saved activations in backward) the logits
    // stay within a few eps and the gradients within ~10 eps. A missing rounding gives 0,
    // a rounding to the wrong format a factor ~8 (bf16 vs fp16) away.
    const double dl = rel_diff(r.logits, r32.logits);
    EXPECT_GT(dl, 0.1 * eps);
    EXPECT_LT(dl, 2 * eps);  // measured ~0.6 eps for both formats
    // Per tensor, relative to its fp32 norm floored at 1/20 of the mean tensor norm: some
    // gradients are 0 in exact arithmetic (GAU's beta_k: softmax ignores a per-query shift)
    // and only rounding noise in fp32, which no relative bound could hold.
    double mean_norm = 0;
    for (auto& g : r32.grads) mean_norm += norm(g) / static_cast<double>(r32.grads.size());
    double worst = 0;
    for (size_t i = 0; i < r.grads.size(); ++i)
      worst = std::max(worst, diff_norm(r.grads[i], r32.grads[i]) /
                                  std::max(norm(r32.grads[i]), mean_norm / 20));
    EXPECT_GT(worst, 0.1 * eps);
    EXPECT_LT(worst, 16 * eps);
  }
}

TEST(PrecisionGPT, TransformerPreNormCloseToFp32) { check_close_to_fp32(config("transformer", "pre")); }
TEST(PrecisionGPT, TransformerPostNormCloseToFp32) { check_close_to_fp32(config("transformer", "post")); }
TEST(PrecisionGPT, TransformerDeepNormCloseToFp32) { check_close_to_fp32(config("transformer", "deepnorm")); }
TEST(PrecisionGPT, GauPreNormCloseToFp32) { check_close_to_fp32(config("gau", "pre")); }
TEST(PrecisionGPT, GauPostNormCloseToFp32) { check_close_to_fp32(config("gau", "post")); }
TEST(PrecisionGPT, GauDeepNormCloseToFp32) { check_close_to_fp32(config("gau", "deepnorm")); }

TEST(PrecisionGPT, SavedActivationMemoryAboutHalvesIn16Bit) {
  nn::GPTConfig cfg = config("transformer", "pre");
  cfg.vocab_size = 32;
  cfg.block_size = 32;
  cfg.n_embd = 64;
  // The same saves at every precision: fp32 would otherwise take the fused attention kernel
  // (no [T,T] probabilities saved at all), which bf16/fp16 do not.
  cfg.attn_kernel = nn::AttnKernel::Composed;
  Rng rng(4);
  nn::GPT model(cfg, rng);
  std::vector<int32_t> v(8 * 32, 1);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i % 32);
  Tensor ids = Tensor::from_vector(v, {8, 32});
  GptRun r32 = run(model, ids, ids, Precision::F32);
  for (Precision p : {Precision::BF16, Precision::F16}) {
    GptRun r = run(model, ids, ids, p);
    const double ratio = static_cast<double>(r.saved_bytes) / static_cast<double>(r32.saved_bytes);
    EXPECT_GT(ratio, 0.45) << precision_name(p) << ": " << r.saved_bytes << " vs " << r32.saved_bytes;
    EXPECT_LT(ratio, 0.6) << precision_name(p) << ": " << r.saved_bytes << " vs " << r32.saved_bytes;
  }
}

}  // namespace
}  // namespace tlm
