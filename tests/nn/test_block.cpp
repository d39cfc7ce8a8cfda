// Transformer blocks: each norm placement against its formula, gradient checks of input and
// parameters, DeepNorm's constants and init.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/expect_error.h"
#include "nn/transformer_block.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;
using In = const std::vector<Tensor>&;

nn::BlockOptions small_block(const std::string& norm, const std::string& pos = "none") {
  nn::BlockOptions o;
  o.attn.n_embd = 8;
  o.attn.n_head = 2;
  o.attn.block_size = 8;
  o.attn.pos = nn::parse<nn::Pos>(pos);
  o.norm = nn::parse<nn::NormPlacement>(norm);
  o.n_layer = 3;
  return o;
}

TEST(Block, EachPlacementMatchesItsFormula) {
  for (const char* norm : {"pre", "post", "deepnorm"}) {
    Rng rng(1);
    nn::TransformerBlock b(small_block(norm), rng);
    b.to(DType::F64);
    Tensor x = randn64({2, 4, 8}, 2);
    Tensor ref;
    if (std::string(norm) == "pre") {
      Tensor h = add(x, b.attn.forward(b.ln_1->forward(x), rng));
      ref = add(h, b.mlp.forward(b.ln_2->forward(h), rng));
    } else {
      const double a = std::string(norm) == "deepnorm" ? std::pow(6.0, 0.25) : 1.0;
      EXPECT_DOUBLE_EQ(b.alpha(), a);
      Tensor h = b.ln_1->forward(add(mul(x, a), b.attn.forward(x, rng)));
      ref = b.ln_2->forward(add(mul(h, a), b.mlp.forward(h, rng)));
    }
    EXPECT_LT(max_abs_diff(b.forward(x, rng), ref), 1e-14) << norm;
  }
}

TEST(Block, GradcheckInputAndParametersForEachPlacement) {
  struct Case { const char* norm; const char* pos; const char* ffn; const char* norm_type; };
  for (const Case& c : {Case{"pre", "none", "gelu", "layernorm"}, Case{"post", "rope", "swiglu", "rmsnorm"},
                        Case{"deepnorm", "rope", "geglu", "layernorm"}}) {
    Rng rng(3);
    nn::BlockOptions o = small_block(c.norm, c.pos);
    o.ffn = nn::parse<nn::Ffn>(c.ffn);
    o.norm_type = nn::parse<nn::NormType>(c.norm_type);
    nn::TransformerBlock b(o, rng);
    b.to(DType::F64);
    for (auto& [name, p] : b.named_parameters()) {  // non-trivial gains, biases, weights
      NoGradGuard g;
      Tensor(p).copy_from(add(randn64(p.shape(), 4, 0.3), name.find("ln_") != std::string::npos ? 1.0 : 0.0));
    }
    EXPECT_GRADCHECK([&](In v) { return b.forward(v[0], rng); }, {randn64({2, 3, 8}, 5)});
    Tensor x = randn64({1, 3, 8}, 6);
    expect_parameter_grads(b, [&] { return weighted_sum(b.forward(x, rng)); });
  }
}

TEST(Block, DeepNormInitUsesXavierWithBetaOnValueOutputAndMLP) {
  Rng rng(7);
  nn::BlockOptions o;
  o.attn.n_embd = 256;
  o.attn.n_head = 4;
  o.norm = nn::NormPlacement::DeepNorm;
  o.n_layer = 6;
  nn::TransformerBlock b(o, rng);
  const double C = 256, H = 4 * C, beta = std::pow(8.0 * 6, -0.25);  // 0.3799
  EXPECT_NEAR(beta, 0.380, 5e-4);  // docs/methods.md, "DeepNorm": N=6 -> beta ~ 0.380
  auto std_of = [](const Tensor& t) {
    auto v = t.to_vector<double>();
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s / static_cast<double>(v.size()));
  };
  const Tensor& w = b.attn.c_attn.weight;
  EXPECT_NEAR(std_of(narrow(w, 0, 0, 512)) / std::sqrt(1 / C), 1.0, 0.02);          // q, k: gain 1
  EXPECT_NEAR(std_of(narrow(w, 0, 512, 256)) / (beta * std::sqrt(1 / C)), 1.0, 0.02);  // v: beta
  EXPECT_NEAR(std_of(b.attn.c_proj.weight) / (beta * std::sqrt(1 / C)), 1.0, 0.02);
  EXPECT_NEAR(std_of(b.mlp.c_fc.weight) / (beta * std::sqrt(2 / (C + H))), 1.0, 0.02);
  EXPECT_NEAR(std_of(b.mlp.c_proj.weight) / (beta * std::sqrt(2 / (C + H))), 1.0, 0.02);
  EXPECT_EQ(std_of(b.attn.c_attn.bias), 0.0);
  EXPECT_NEAR(b.alpha(), std::pow(12.0, 0.25), 1e-15);  // ~1.86
}

TEST(Block, OptionsAreValidatedByName) {
  Rng rng(8);
  auto expect_error = [&](nn::BlockOptions o, const std::string& what) {
    try {
      nn::TransformerBlock b(o, rng);
      ADD_FAILURE() << "accepted " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  // Names are parsed once, into the typed options (nn/choices.h); an unknown one names the key.
  EXPECT_TLM_ERROR(nn::parse<nn::NormPlacement>("sandwich"),
                        "norm: 'sandwich' is not one of pre|post|deepnorm");
  EXPECT_TLM_ERROR(nn::parse<nn::NormType>("batchnorm"),
                        "norm_type: 'batchnorm' is not one of layernorm|rmsnorm");
  EXPECT_TLM_ERROR(nn::parse<nn::Ffn>("relu"), "ffn: 'relu' is not one of gelu|gelu_tanh|geglu|swiglu");
  nn::BlockOptions o = small_block("pre");
  o.n_layer = 0;
  expect_error(o, "n_layer");
  o = small_block("pre");
  o.norm_eps = -1;
  expect_error(o, "norm_eps");
}

}  // namespace
}  // namespace tlm
