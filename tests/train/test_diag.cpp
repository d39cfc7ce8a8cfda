// tlm diag: each diagnostic on a small model where the answer is known.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "nn/gau.h"
#include "nn/transformer_block.h"
#include "train/diag/diag.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

nn::GPTConfig small(bool tied, const std::string& pos) {
  nn::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.tie_weights = tied;
  c.pos = nn::parse<nn::Pos>(pos);
  return c;
}

// The components sum to the model's own totals: FLOPs/token and parameters.
TEST(DiagCost, ComponentsSumToTheModelTotals) {
  for (bool tied : {true, false})
    for (const char* pos : {"learned", "rope"}) {
      Rng rng(1);
      nn::GPT model(small(tied, pos), rng);
      double flops = 0;
      int64_t params = 0;
      for (const auto& r : diag::cost_by_component(model)) {
        flops += r.flops_per_token;
        params += r.params;
        EXPECT_NE(r.component, "other") << "a parameter the name rules do not place";
      }
      EXPECT_DOUBLE_EQ(flops, model.flops_per_token()) << tied << pos;
      EXPECT_EQ(params, model.num_parameters()) << tied << pos;
    }
}

TEST(DiagCost, AttentionHoldsTheScoreFlops) {
  Rng rng(1);
  nn::GPT model(small(true, "learned"), rng);
  std::map<std::string, diag::ComponentCost> by_name;
  for (const auto& r : diag::cost_by_component(model)) by_name[r.component] = r;
  // Both components must be there: a cost table that lost one fails here, not silently.
  ASSERT_TRUE(by_name.count("attention")) << "no attention row";
  ASSERT_TRUE(by_name.count("embeddings")) << "no embeddings row";
  // 2 layers x (3C^2 + 3C + C^2 + C) weights, 6 FLOPs each, + the scores 12 L C T.
  EXPECT_EQ(by_name.at("attention").params, 2 * (4 * 64 + 4 * 8));
  EXPECT_DOUBLE_EQ(by_name.at("attention").flops_per_token,
                   6.0 * 2 * (4 * 64 + 4 * 8) + 12.0 * 2 * 8 * 16);
  EXPECT_EQ(by_name.at("embeddings").params, 16 * 8);  // wpe [T,C] only: wte is the tied head
  EXPECT_EQ(by_name.at("embeddings").flops_per_token, 0);  // a lookup, no FLOPs
}

// Zero q, k projections make every score 0: row i is uniform over its i + 1 visible keys, so
// its entropy is log(i + 1); the last row sees all n keys: log n.
TEST(DiagEntropy, UniformAttentionHasEntropyLogN) {
  Rng rng(2);
  nn::GPT model(small(true, "learned"), rng);
  for (auto& blk : model.h) {
    auto& b = static_cast<nn::TransformerBlock&>(*blk);
    narrow(b.attn.c_attn.weight.detach(), 0, 0, 16).fill_(0.0);  // q and k rows
    b.attn.c_attn.bias.detach().fill_(0.0);
  }
  std::vector<int32_t> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back(i % 11);
  auto rows = diag::attention_entropy(model, tokens, {4, 16}, 3);
  ASSERT_EQ(rows.size(), 2u * 2 * 2);  // lengths x layers x heads
  for (const auto& r : rows) {
    EXPECT_NEAR(r.entropy_last, std::log(double(r.length)), 1e-6);
    double mean = 0;
    for (int64_t i = 1; i <= r.length; ++i) mean += std::log(double(i));
    EXPECT_NEAR(r.entropy_mean, mean / double(r.length), 1e-6);
    EXPECT_DOUBLE_EQ(r.log_n, std::log(double(r.length)));
  }
  for (auto& b : model.h)
    EXPECT_EQ(static_cast<nn::TransformerBlock&>(*b).attn.probe, nullptr)
        << "probes are detached after";
}

nn::GPTConfig small_gau() {
  nn::GPTConfig c = small(true, "rope");
  c.block = "gau";
  c.keys.set("gau_attn_size", int64_t{4});
  c.keys.set("gau_expansion", 1.5);  // e = 12
  return c;
}

// GAU: Z = silu(X W_z + b_z) = 0 when W_z, b_z = 0, so q = beta_q = 0 and k = beta_k = 0 (at
// init): every score is 0 and row i is uniform over its i + 1 keys, one head per layer.
TEST(DiagEntropy, GauUniformAttentionHasEntropyLogN) {
  Rng rng(2);
  nn::GPT model(small_gau(), rng);
  for (auto& blk : model.h) {
    auto& b = static_cast<nn::GAUBlock&>(*blk);
    narrow(b.gau.i_dense.weight.detach(), 0, 2 * 12, 4).fill_(0.0);  // W_z rows
    narrow(b.gau.i_dense.bias.detach(), 0, 2 * 12, 4).fill_(0.0);
  }
  std::vector<int32_t> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back(i % 11);
  auto rows = diag::attention_entropy(model, tokens, {4, 16}, 3);
  ASSERT_EQ(rows.size(), 2u * 2 * 1);  // lengths x layers x one head
  for (const auto& r : rows) {
    EXPECT_EQ(r.head, 0);
    EXPECT_NEAR(r.entropy_last, std::log(double(r.length)), 1e-6);
    double mean = 0;
    for (int64_t i = 1; i <= r.length; ++i) mean += std::log(double(i));
    EXPECT_NEAR(r.entropy_mean, mean / double(r.length), 1e-6);
  }
  for (auto& b : model.h)
    EXPECT_EQ(static_cast<nn::GAUBlock&>(*b).gau.probe, nullptr) << "probes are detached after";
}

// GAU: its unit is filed under attention (with the score FLOPs 6 (s + e) T per layer), its
// norm under norms; nothing is left to "other" and the totals still hold.
TEST(DiagCost, GauWeightsAndScoreFlopsAreAttention) {
  Rng rng(1);
  nn::GPT model(small_gau(), rng);
  const auto rows = diag::cost_by_component(model);
  double flops = 0;
  int64_t params = 0;
  std::map<std::string, diag::ComponentCost> by;
  for (const auto& r : rows) {
    flops += r.flops_per_token;
    params += r.params;
    by[r.component] = r;
  }
  EXPECT_EQ(by.count("other"), 0u);
  EXPECT_EQ(by.count("mlp"), 1u);
  EXPECT_EQ(by["mlp"].params, 0);
  // Per layer: i_dense [2e+s, C] + bias, o_dense [C, e] + bias, gamma/beta q/k [s] each.
  const int64_t C = 8, e = 12, s = 4, T = 16;
  const int64_t unit = (2 * e + s) * C + (2 * e + s) + C * e + C + 4 * s;
  EXPECT_EQ(by["attention"].params, 2 * unit);
  EXPECT_DOUBLE_EQ(by["attention"].flops_per_token, 6.0 * 2 * unit + 2 * 6.0 * (s + e) * T);
  EXPECT_EQ(by["norms"].params, 3 * 2 * C);  // each block's ln and ln_f: weight and bias
  EXPECT_DOUBLE_EQ(flops, model.flops_per_token());
  EXPECT_EQ(params, model.num_parameters());
}

// Su's example (docs/methods.md, "Unargmaxable tokens"): w5 = (1,1) is inside
// conv{(1,2),(2,1),(1,0),(0,1)}.
TEST(DiagUnargmax, SuTwoDimensionalExample) {
  const std::vector<double> W = {1, 2, 2, 1, 1, 0, 0, 1, 1, 1};
  auto rows = diag::unargmaxable(W, {}, 5, 2);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(rows[k].status, "argmaxable") << k;
    ASSERT_EQ(rows[k].witness.size(), 2u);
    double best = -1e300;
    int arg = -1;
    for (int i = 0; i < 5; ++i) {
      const double z = W[2 * i] * rows[k].witness[0] + W[2 * i + 1] * rows[k].witness[1];
      if (z > best) best = z, arg = i;
    }
    EXPECT_EQ(arg, k) << "the witness makes the token the argmax";
    EXPECT_GT(rows[k].margin, 0);
  }
  EXPECT_EQ(rows[4].status, "unargmaxable");
  EXPECT_EQ(rows[4].method, "frank_wolfe");
  EXPECT_LT(rows[4].min_norm, 1e-6);
}

// A bias can rescue the inner token: b5 = 1 makes x = 0 a witness.
TEST(DiagUnargmax, BiasMakesTheInnerTokenArgmaxable) {
  const std::vector<double> W = {1, 2, 2, 1, 1, 0, 0, 1, 1, 1};
  auto r = diag::argmaxable(W, {0, 0, 0, 0, 1}, 5, 2, 4);
  EXPECT_EQ(r.status, "argmaxable");
  EXPECT_GT(r.margin, 0);
}

// Fewer classes than dimensions + 1, in general position: every token is argmaxable.
TEST(DiagUnargmax, RandomLowVocabularyHeadIsAllArgmaxable) {
  Rng rng(3);
  const int64_t V = 7, d = 8;
  std::vector<double> W = Tensor::randn({V, d}, rng, 1.0, DType::F64).to_vector<double>();
  for (const auto& r : diag::unargmaxable(W, {}, V, d)) EXPECT_EQ(r.status, "argmaxable");
}

// Without bias, w_k is argmaxable iff it is a vertex of conv{w_i} (not inside the others' hull).
TEST(DiagUnargmax, PointsInsideAHullAreFound) {
  // a square's corners, its centre, and a point on no edge but inside: 4, 5 unargmaxable.
  const std::vector<double> W = {2, 0, 0, 2, -2, 0, 0, -2, 0, 0, 0.5, 0.3};
  auto rows = diag::unargmaxable(W, {}, 6, 2);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(rows[k].status, "argmaxable") << k;
  EXPECT_EQ(rows[4].status, "unargmaxable");
  EXPECT_EQ(rows[5].status, "unargmaxable");
}

TEST(DiagGrads, RecordsEveryGroupEveryStep) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=2", "n_head=2", "n_embd=16", "block_size=16", "batch_size=2",
                       "threads=1", "norm=pre"});
  auto rows = diag::grad_increments(cfg, 3);
  ASSERT_EQ(rows.size(),
            3u * 4);  // steps x (embed, h.0, h.1, head = ln_f; post/deepnorm have no ln_f)
  EXPECT_EQ(rows[0].group, "embed");
  EXPECT_EQ(rows[1].group, "h.0");
  EXPECT_EQ(rows[3].group, "head");
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.loss));
    EXPECT_GT(r.param_norm, 0) << r.group;
    EXPECT_GT(r.grad_norm, 0) << r.group;
    EXPECT_GE(r.update_ratio, 0);
    EXPECT_LT(r.update_ratio, 1) << r.group;
  }
}

TEST(DiagGrads, GroupNames) {
  EXPECT_EQ(diag::group_of("h.12.attn.c_attn.weight"), "h.12");
  EXPECT_EQ(diag::group_of("wte.weight"), "embed");
  EXPECT_EQ(diag::group_of("ln_f.weight"), "head");
}

}  // namespace
}  // namespace tlm::train
