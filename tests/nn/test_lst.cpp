// Ladder Side-Tuning (nn/lst.h): float64 gradient checks of every side parameter (learned
// positions and RoPE + SwiGLU + RMSNorm backbones), the backbone frozen and run without a
// graph (no backbone tensor requires grad or receives one; the allocator peak of a training
// step well below full fine-tuning's), the pruning init against planted important indices,
// r = 1 with closed gates reproducing the backbone exactly, and bad reduction factors.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "tests/common/expect_error.h"
#include "nn/gpt.h"
#include "nn/lst.h"
#include "nn_test_util.h"
#include "tensor/storage.h"

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

Tensor ids_of(const std::vector<int32_t>& v, int64_t B, int64_t T) { return Tensor::from_vector(v, {B, T}); }

void check_side_grads(const nn::GPTConfig& cfg, int64_t r,
                      nn::LstOutput output = nn::LstOutput::Side) {
  Rng rng(1);
  nn::GPT backbone(cfg, rng);
  nn::LadderSide side(backbone, {.reduction = r, .gate_temperature = 0.1, .output = output}, rng);
  backbone.to(DType::F64);
  side.to(DType::F64);
  // Away from the pruned init (selection matrices, mu = 0.5) so every path is exercised.
  for (auto& [name, p] : side.named_parameters()) {
    NoGradGuard g;
    const bool gain = name.find("ln_") != std::string::npos && name.find("weight") != std::string::npos;
    Tensor(p).copy_from(add(randn64(p.shape(), 5, name == "gate" ? 0.05 : 0.3), gain ? 1.0 : 0.0));
  }
  Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
  Tensor targets = ids_of({6, 0, 3, 3, 2, 5, 4, 0, 1, 6}, 2, 5);
  Rng d(3);
  auto loss = [&] {
    Tensor logits = side.forward(ids, d);
    return add(weighted_sum(logits), reference_cross_entropy(logits, targets));
  };
  expect_parameter_grads(side, loss);
  for (auto& [name, p] : backbone.named_parameters()) {
    EXPECT_FALSE(p.requires_grad()) << name;
    EXPECT_FALSE(p.grad().defined()) << name;
  }
}

TEST(LSTGradcheck, SideNetworkLearnedPositions) { check_side_grads(tiny(), 2); }
TEST(LSTGradcheck, SideNetworkResidualOutput) { check_side_grads(tiny(), 2, nn::LstOutput::Residual); }
TEST(LSTGradcheck, SideNetworkRopeSwiGLURMSNorm) {
  nn::GPTConfig c = tiny();
  c.n_embd = 16;
  c.pos = nn::Pos::Rope;
  c.ffn = nn::Ffn::SwiGLU;
  c.norm_type = nn::NormType::RMSNorm;
  c.tie_weights = false;
  check_side_grads(c, 4);
}

TEST(LST, BackboneIsFrozenAndRunsWithoutAGraph) {
  Rng rng(1);
  nn::GPT backbone(tiny(), rng);
  nn::LadderSide side(backbone, {.reduction = 2, .gate_temperature = 0.1}, rng);
  EXPECT_EQ(side.width(), 4);  // 8 / 2
  Rng d(3);
  Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
  for (const Tensor& h : side.backbone_states(ids, d)) EXPECT_FALSE(h.requires_grad());
  Tensor logits = side.forward(ids, d);
  EXPECT_TRUE(logits.requires_grad());
  sum(logits).backward();
  for (auto& [name, p] : backbone.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
  for (auto& [name, p] : side.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  // Parameter names: L+1 ladders, L gates, L blocks, norm, up-projection.
  auto sd = side.state_dict();
  EXPECT_TRUE(sd.count("down.2.weight") && sd.count("gate") && sd.count("blocks.1.attn.c_attn.weight") &&
              sd.count("ln_f.weight") && sd.count("up.weight"));
  EXPECT_EQ(sd.at("gate").shape(), (Shape{2}));
}

// The allocator's peak over one forward + backward above what was live before it.
int64_t step_peak(const std::function<Tensor()>& loss) {
  const int64_t before = memory_stats().current_bytes;
  reset_peak_memory();
  loss().backward();
  return memory_stats().peak_bytes - before;
}

TEST(LST, TrainingStepPeakMemoryIsFarBelowFullFineTuning) {
  nn::GPTConfig c = tiny();
  c.vocab_size = 16;
  c.block_size = 16;
  c.n_layer = 6;
  c.n_head = 4;
  c.n_embd = 64;
  Rng rng(1);
  nn::GPT full(c, rng);
  Rng rng2(1);
  nn::GPT frozen(c, rng2);
  nn::LadderSide side(frozen, {.reduction = 8, .gate_temperature = 0.1}, rng2);
  std::vector<int32_t> v(8 * 16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>((i * 7) % 16);
  Tensor ids = ids_of(v, 8, 16);
  Rng d(3);
  const int64_t full_peak = step_peak([&] { return mean(full.forward(ids, d)); });
  const int64_t lst_peak = step_peak([&] { return mean(side.forward(ids, d)); });
  // Activations + gradients beyond the parameters: the LST step keeps the L+1 ladder inputs
  // and the narrow side's graph; the full step keeps every backbone activation and gradient.
  EXPECT_LT(lst_peak, full_peak * 4 / 10) << "lst " << lst_peak << " full " << full_peak;
  EXPECT_GT(lst_peak, 0);
  RecordProperty("lst_over_full", std::to_string(static_cast<double>(lst_peak) / static_cast<double>(full_peak)));
}

// r = 1 and gates shut (mu = 1: the side ignores the ladder after D_0 = identity): the side
// network is a copy of the backbone and must compute the same logits. (Post-norm has no
// final norm; the side's own final LayerNorm then re-normalises an already normalised
// vector, which moves it by O(eps) only.)
TEST(LST, ReductionOneWithClosedGatesReproducesTheBackbone) {
  for (const char* norm : {"pre", "post"}) {
    nn::GPTConfig c = tiny();
    c.norm = nn::parse<nn::NormPlacement>(norm);
    c.ffn = nn::Ffn::GeGLU;
    Rng rng(4);
    nn::GPT backbone(c, rng);
    nn::LadderSide side(backbone, {.reduction = 1, .gate_temperature = 0.1}, rng);
    backbone.to(DType::F64);
    side.to(DType::F64);
    {
      NoGradGuard g;
      side.gate.copy_from(Tensor::full({2}, 1000.0, DType::F64));
    }
    EXPECT_DOUBLE_EQ(side.gates()[0], 1.0);
    Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
    Rng d(3);
    Tensor want;
    {
      NoGradGuard g;
      want = backbone.forward(ids, d);
    }
    EXPECT_LT(max_abs_diff(side.forward(ids, d), want), std::string(norm) == "pre" ? 1e-12 : 1e-6) << norm;
  }
}

// output = residual: up starts at 0, so the tuned model starts as the backbone.
TEST(LST, ResidualOutputStartsAsTheBackbone) {
  Rng rng(4);
  nn::GPT backbone(tiny(), rng);
  nn::LadderSide side(backbone, {.reduction = 2, .gate_temperature = 0.1, .output = nn::LstOutput::Residual}, rng);
  Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
  Rng d(3);
  std::vector<float> want;
  {
    NoGradGuard g;
    want = backbone.forward(ids, d).to_vector<float>();
  }
  EXPECT_EQ(side.forward(ids, d).to_vector<float>(), want);
  EXPECT_TLM_ERROR(nn::parse<nn::LstOutput>("sum"), "lst_output: 'sum' is not one of side|residual");
}

// Planted structure: only the residual dims S*, head dims Q*/V* and MLP units U* carry
// weight; everything else is scaled by 1e-3. The pruned side must keep exactly those, and
// its weights must be the backbone's at those indices.
// The side network of a 2-layer, width-16 backbone pruned to the planted residual dims S,
// q/k dims Q, v dims V and MLP units U: ladder 0 selects S, and every side weight equals the
// backbone's at those indices (an independent gather, not the pruning code).
void expect_side_is_the_gather(nn::GPT& backbone, nn::LadderSide& side, const std::vector<int64_t>& S,
                               const std::vector<int64_t>& Q, const std::vector<int64_t>& V,
                               const std::vector<int64_t>& U) {
  std::vector<float> dw = side.down[0]->weight.to_vector<float>();
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t j = 0; j < 16; ++j) EXPECT_EQ(dw[k * 16 + j], j == S[k] ? 1.0f : 0.0f);
  auto gather2 = [](const Tensor& w, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
    std::vector<float> v = w.to_vector<float>(), out;
    for (int64_t i : rows)
      for (int64_t j : cols) out.push_back(v[i * w.shape()[1] + j]);
    return out;
  };
  std::vector<int64_t> qkv_rows;
  for (int64_t t : Q) qkv_rows.push_back(t);
  for (int64_t t : Q) qkv_rows.push_back(16 + t);
  for (int64_t t : V) qkv_rows.push_back(32 + t);
  for (size_t l = 0; l < 2; ++l) {
    const auto& b = static_cast<const nn::TransformerBlock&>(*backbone.h[l]);
    const nn::TransformerBlock& s = *side.blocks[l];
    EXPECT_EQ(s.attn.c_attn.weight.to_vector<float>(), gather2(b.attn.c_attn.weight, qkv_rows, S));
    EXPECT_EQ(s.attn.c_proj.weight.to_vector<float>(), gather2(b.attn.c_proj.weight, S, V));
    EXPECT_EQ(s.mlp.c_fc.weight.to_vector<float>(), gather2(b.mlp.c_fc.weight, U, S));
    EXPECT_EQ(s.mlp.c_proj.weight.to_vector<float>(), gather2(b.mlp.c_proj.weight, S, U));
  }
}

TEST(LST, PruningKeepsTheLargestRowsColumnsAndUnits) {
  nn::GPTConfig c = tiny();
  c.n_embd = 16;  // C = 16, H = 2, D = 8, r = 4: side width 4, head size 2, MLP 64 -> 16
  Rng rng(6);
  nn::GPT backbone(c, rng);
  const std::vector<int64_t> S = {1, 6, 7, 12};
  const std::vector<int64_t> Q = {2, 5, 8 + 0, 8 + 7}, V = {0, 3, 8 + 4, 8 + 6};
  std::vector<int64_t> U;
  for (int64_t u = 3; u < 64; u += 4) U.push_back(u);
  auto in = [](const std::vector<int64_t>& s, int64_t i) { return std::find(s.begin(), s.end(), i) != s.end(); };
  auto shrink = [&](Tensor& w, auto keep) {  // w[i][j] *= 1e-3 unless keep(i, j)
    NoGradGuard g;
    std::vector<double> v = w.to_vector<double>();
    const int64_t R = w.shape()[0], Cc = w.dim() == 2 ? w.shape()[1] : 1;
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < Cc; ++j)
        if (!keep(i, j)) v[i * Cc + j] *= 1e-3;
    w.copy_from(Tensor::from_vector(v, w.shape()).to(w.dtype()));
  };
  shrink(backbone.wte.weight, [&](int64_t, int64_t j) { return in(S, j); });
  shrink(backbone.wpe->weight, [&](int64_t, int64_t j) { return in(S, j); });
  for (auto& blk : backbone.h) {
    auto* b = static_cast<nn::TransformerBlock*>(blk.get());
    shrink(b->attn.c_attn.weight, [&](int64_t i, int64_t j) {
      const int64_t part = i / 16, t = i % 16;
      return in(S, j) && (part == 2 ? in(V, t) : in(Q, t));
    });
    shrink(b->attn.c_proj.weight, [&](int64_t i, int64_t j) { return in(S, i) && in(V, j); });
    shrink(b->mlp.c_fc.weight, [&](int64_t i, int64_t j) { return in(S, j) && in(U, i); });
    shrink(b->mlp.c_proj.weight, [&](int64_t i, int64_t j) { return in(S, i) && in(U, j); });
  }
  nn::LadderSide side(backbone, {.reduction = 4, .gate_temperature = 0.1}, rng);
  expect_side_is_the_gather(backbone, side, S, Q, V, U);
}

// Empirical Fisher against separate explicit forward/backward passes, and the backbone left
// frozen without grads.
TEST(LST, EmpiricalFisherIsTheSumOfSquaredGradients) {
  Rng rng(2);
  nn::GPT g(tiny(), rng);
  const std::vector<std::vector<int32_t>> xs = {{1, 6, 0, 3, 3}, {2, 5, 4, 0, 1}, {0, 0, 6, 2, 4}};
  std::map<std::string, std::vector<double>> want;
  for (const auto& x : xs) {
    g.zero_grad();
    std::vector<int32_t> y(x.begin() + 1, x.end());
    y.push_back(x[0]);
    Rng d(0);
    g.eval();
    Tensor logits = g.forward(ids_of(x, 1, 5), d);
    reference_cross_entropy(logits, ids_of(y, 1, 5)).backward();
    for (auto& [name, p] : g.named_parameters()) {
      std::vector<double> gr = p.grad().to_vector<double>();
      auto& w = want[name];
      w.resize(gr.size(), 0.0);
      for (size_t k = 0; k < gr.size(); ++k) w[k] += gr[k] * gr[k];
    }
  }
  g.zero_grad();
  g.train();
  auto f = nn::empirical_fisher(g, [&](int64_t n) {
    std::vector<int32_t> y(xs[n].begin() + 1, xs[n].end());
    y.push_back(xs[n][0]);
    return nn::FisherSample{ids_of(xs[n], 1, 5), ids_of(y, 1, 5)};
  }, 3);
  EXPECT_TRUE(g.training());
  for (auto& [name, p] : g.named_parameters()) {
    EXPECT_FALSE(p.requires_grad()) << name;
    EXPECT_FALSE(p.grad().defined()) << name;
    const std::vector<double> got = f.at(name).to_vector<double>();
    ASSERT_EQ(got.size(), want[name].size()) << name;
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_NEAR(got[k], want[name][k], 1e-5 * (1 + want[name][k])) << name << " " << k;
  }
}

// Planted importance: random backbone weights, importance 1 at S*/Q*/V*/U* and 1e-3 elsewhere;
// the pruning must follow the importance, not the weights.
TEST(LST, PruningByImportanceKeepsThePlantedRowsColumnsAndUnits) {
  nn::GPTConfig c = tiny();
  c.n_embd = 16;
  Rng rng(6);
  nn::GPT backbone(c, rng);
  const std::vector<int64_t> S = {0, 5, 9, 14};
  const std::vector<int64_t> Q = {1, 6, 8 + 2, 8 + 3}, V = {4, 7, 8 + 0, 8 + 5};
  std::vector<int64_t> U;
  for (int64_t u = 1; u < 64; u += 4) U.push_back(u);
  auto in = [](const std::vector<int64_t>& s, int64_t i) { return std::find(s.begin(), s.end(), i) != s.end(); };
  std::map<std::string, Tensor> imp;
  for (auto& [name, p] : backbone.named_parameters()) {
    const int64_t R = p.shape()[0], Cc = p.dim() == 2 ? p.shape()[1] : 1;
    std::function<bool(int64_t, int64_t)> keep = [](int64_t, int64_t) { return false; };
    auto ends = [&](const std::string& e) { return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0; };
    if (name == "wte.weight" || name == "wpe.weight") keep = [&](int64_t, int64_t j) { return in(S, j); };
    else if (ends("attn.c_attn.weight")) keep = [&](int64_t i, int64_t j) { return in(S, j) && (i / 16 == 2 ? in(V, i % 16) : in(Q, i % 16)); };
    else if (ends("attn.c_proj.weight")) keep = [&](int64_t i, int64_t j) { return in(S, i) && in(V, j); };
    else if (ends("mlp.c_fc.weight")) keep = [&](int64_t i, int64_t j) { return in(S, j) && in(U, i); };
    else if (ends("mlp.c_proj.weight")) keep = [&](int64_t i, int64_t j) { return in(S, i) && in(U, j); };
    std::vector<double> v(static_cast<size_t>(R * Cc));
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < Cc; ++j) v[i * Cc + j] = keep(i, j) ? 1.0 : 1e-3;
    imp[name] = Tensor::from_vector(v, p.shape());
  }
  nn::LSTOptions o;
  o.reduction = 4;
  o.importance = imp;
  nn::LadderSide side(backbone, o, rng);
  expect_side_is_the_gather(backbone, side, S, Q, V, U);
  o.importance = {{"nope.weight", Tensor::zeros({2})}};
  EXPECT_TLM_ERROR(nn::LadderSide(backbone, o, rng), "not a backbone parameter");
}

TEST(LST, BadReductionFactorsAreRefusedNamingTheKey) {
  Rng rng(1);
  nn::GPT g(tiny(), rng);  // n_embd 8, n_head 2: head size 4, MLP 32
  EXPECT_TLM_ERROR(nn::LadderSide(g, {.reduction = 3, .gate_temperature = 0.1}, rng),
                        "lst_reduction: 3 does not divide the backbone width n_embd = 8");
  nn::GPTConfig c = tiny();
  c.n_head = 4;  // head size 2
  nn::GPT g4(c, rng);
  EXPECT_TLM_ERROR(nn::LadderSide(g4, {.reduction = 4, .gate_temperature = 0.1}, rng),
                        "lst_reduction: 4 does not divide the backbone head size");
  EXPECT_TLM_ERROR(nn::LadderSide(g, {.reduction = 0, .gate_temperature = 0.1}, rng), "lst_reduction");
  EXPECT_TLM_ERROR(nn::LadderSide(g, {.reduction = 2, .gate_temperature = 0}, rng), "lst_gate_temperature");
  c = tiny();
  c.pos = nn::Pos::Rope;
  nn::GPT gr(c, rng);  // head size 4, r = 4: side head size 1 (odd)
  EXPECT_TLM_ERROR(nn::LadderSide(gr, {.reduction = 4, .gate_temperature = 0.1}, rng), "even head size");
}

// The pruning rules read attention heads and MLP units: a GAU backbone is refused, with why.
TEST(LST, NonTransformerBackboneIsRefusedWithTheReason) {
  Rng rng(1);
  nn::GPTConfig c = tiny();
  c.block = "gau";
  c.keys.set("gau_attn_size", int64_t{4});
  nn::GPT g(c, rng);
  EXPECT_TLM_ERROR(nn::LadderSide(g, {.reduction = 2, .gate_temperature = 0.1}, rng),
                        "lst: block = gau is not supported: the side network is pruned from "
                        "attention heads");
}

}  // namespace
}  // namespace tlm
