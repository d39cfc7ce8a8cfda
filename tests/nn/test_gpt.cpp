// The GPT model: whole-model float64 gradient checks of every parameter for each norm
// placement, overfitting one batch, KV-cache generation == recomputation, init statistics,
// parameter/FLOP counts and config validation.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/gpt.h"
#include "nn/sampling.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;

nn::GPTConfig tiny(const std::string& norm) {
  nn::GPTConfig c;
  c.vocab_size = 7;
  c.block_size = 5;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.norm = nn::parse<nn::NormPlacement>(norm);
  return c;
}

Tensor ids_of(const std::vector<int32_t>& v, int64_t B, int64_t T) { return Tensor::from_vector(v, {B, T}); }

// Every parameter entry against central differences, plus the logits' dependence on the
// embeddings, for a loss that weights every logit.
void check_whole_model(const nn::GPTConfig& cfg) {
  Rng rng(1);
  nn::GPT model(cfg, rng);
  model.to(DType::F64);
  // Larger-than-init weights so every path (attention softmax, norms) is far from linear.
  for (auto& [name, p] : model.named_parameters()) {
    NoGradGuard g;
    const bool gain = name.find("ln_") != std::string::npos && name.find("weight") != std::string::npos;
    Tensor(p).copy_from(add(randn64(p.shape(), 2, 0.3), gain ? 1.0 : 0.0));
  }
  Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
  Tensor targets = ids_of({6, 0, 3, 3, 2, 5, 4, 0, 1, 6}, 2, 5);
  Rng drop_rng(3);
  // Weighted logits (tests every output) plus the cross-entropy the trainer will use.
  auto loss = [&] {
    Tensor logits = model.forward(ids, drop_rng);
    return add(weighted_sum(logits), reference_cross_entropy(logits, targets));
  };
  expect_parameter_grads(model, loss);
}

TEST(GPTGradcheck, WholeModelPreNorm) { check_whole_model(tiny("pre")); }
TEST(GPTGradcheck, WholeModelPostNorm) { check_whole_model(tiny("post")); }
TEST(GPTGradcheck, WholeModelDeepNorm) { check_whole_model(tiny("deepnorm")); }
TEST(GPTGradcheck, WholeModelRopeSwiGLURMSNormUntiedNoBias) {
  nn::GPTConfig c = tiny("pre");
  c.pos = nn::Pos::Rope;
  c.ffn = nn::Ffn::SwiGLU;
  c.norm_type = nn::NormType::RMSNorm;
  c.tie_weights = false;
  c.bias = false;
  check_whole_model(c);
}
TEST(GPTGradcheck, WholeModelNoPositionsGEGLU) {
  nn::GPTConfig c = tiny("post");
  c.pos = nn::Pos::None;
  c.ffn = nn::Ffn::GeGLU;
  check_whole_model(c);
}

TEST(GPTGradcheck, WholeModelWithDropoutUnderAFixedMask) {
  // Dropout on embeddings, attention probabilities and residual outputs: with the masks
  // drawn from a fresh Rng per evaluation, the loss is a fixed function of the parameters.
  nn::GPTConfig c = tiny("pre");
  c.dropout = 0.2;
  Rng rng(11);
  nn::GPT model(c, rng);
  model.to(DType::F64);
  Tensor ids = ids_of({1, 6, 0, 3, 3, 2, 5, 4, 0, 1}, 2, 5);
  auto loss = [&] {
    Rng drop_rng(12);
    return weighted_sum(model.forward(ids, drop_rng));
  };
  expect_parameter_grads(model, loss);
  // Training mode draws masks from the Rng; eval mode is deterministic and mask-free.
  Rng r1(1), r2(2);
  NoGradGuard no_grad;
  EXPECT_GT(max_abs_diff(model.forward(ids, r1), model.forward(ids, r2)), 1e-6);
  model.eval();
  EXPECT_EQ(max_abs_diff(model.forward(ids, r1), model.forward(ids, r2)), 0.0);
}

TEST(GPT, FinalNormOnlyForPreNorm) {
  for (const char* norm : {"pre", "post", "deepnorm"}) {
    Rng rng(13);
    nn::GPT model(tiny(norm), rng);
    EXPECT_EQ(model.ln_f != nullptr, std::string(norm) == "pre") << norm;
    EXPECT_EQ(model.state_dict().count("ln_f.weight"), std::string(norm) == "pre" ? 1u : 0u);
  }
}

TEST(GPT, OverfitsOneBatchWithAdam) {
  nn::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  Rng rng(4);
  nn::GPT model(c, rng);
  Tensor ids = ids_of({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}, 2, 8);
  Tensor targets = ids_of({1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2}, 2, 8);
  // Plain Adam (Kingma & Ba, arXiv:1412.6980), lr 1e-2, betas (0.9, 0.999).
  std::vector<Tensor> params = model.parameters();
  std::vector<std::vector<float>> m(params.size()), v(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    m[i].assign(params[i].numel(), 0.f);
    v[i].assign(params[i].numel(), 0.f);
  }
  double first = 0, last = 0;
  for (int step = 1; step <= 150; ++step) {
    model.zero_grad();
    Tensor loss = reference_cross_entropy(model.forward(ids, rng), targets);
    loss.backward();
    if (step == 1) first = loss.item();
    last = loss.item();
    const float b1 = 0.9f, b2 = 0.999f, lr = 1e-2f;
    const float c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor g = params[i].grad();
      ASSERT_TRUE(g.defined());
      const float* gp = g.data<float>();
      float* p = params[i].data<float>();
      for (int64_t k = 0; k < params[i].numel(); ++k) {
        m[i][k] = b1 * m[i][k] + (1 - b1) * gp[k];
        v[i][k] = b2 * v[i][k] + (1 - b2) * gp[k] * gp[k];
        p[k] -= lr * (m[i][k] / c1) / (std::sqrt(v[i][k] / c2) + 1e-8f);
      }
      params[i].bump_version();
    }
  }
  EXPECT_NEAR(first, std::log(11.0), 0.1);  // near-uniform predictions at init
  EXPECT_LT(last, 0.02) << "from " << first;
}

TEST(GPT, KVCacheGenerationMatchesFullRecomputation) {
  for (const char* pos : {"learned", "rope", "none"}) {
    nn::GPTConfig c = tiny("pre");
    c.block_size = 12;
    c.pos = nn::parse<nn::Pos>(pos);
    c.n_embd = 16;
    c.vocab_size = 13;
    Rng rng(5);
    nn::GPT model(c, rng);
    Tensor ids = ids_of({1, 5, 2, 9, 12, 0, 3, 3, 7, 4, 11, 6, 2, 2, 8, 10, 1, 0, 5, 9, 7, 12, 4, 3}, 2, 12);
    NoGradGuard no_grad;
    Tensor full = model.forward(ids, rng);  // [2,12,13]
    nn::KVCache cache = model.make_cache();
    std::vector<Tensor> steps{model.forward(narrow(ids, 1, 0, 4), rng, &cache)};
    for (int64_t t = 4; t < 12; ++t) steps.push_back(model.forward(narrow(ids, 1, t, 1), rng, &cache));
    EXPECT_EQ(cache.length, 12);
    EXPECT_LT(max_abs_diff(concat(steps, 1), full), 1e-5) << pos;
    EXPECT_THROW(model.forward(narrow(ids, 1, 0, 1), rng, &cache), Error);  // full
  }
}

TEST(GPT, GreedyGenerationEqualsArgmaxOfRecomputedWindows) {
  // Past block_size the cache is dropped and the last block_size tokens recomputed; the
  // result must be what a cache-free loop over cropped contexts produces (float64: no ties).
  for (const char* pos : {"learned", "rope"}) {
    nn::GPTConfig c = tiny("pre");
    c.block_size = 6;
    c.pos = nn::parse<nn::Pos>(pos);
    c.vocab_size = 9;
    Rng rng(6);
    nn::GPT model(c, rng);
    model.to(DType::F64);
    Tensor prompt = ids_of({1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor out = model.generate(prompt, 8, /*temperature=*/0, 0, 1.0, rng);
    ASSERT_EQ(out.shape(), (Shape{2, 11}));
    std::vector<int32_t> o = out.to_vector<int32_t>();
    NoGradGuard no_grad;
    for (int64_t b = 0; b < 2; ++b) {
      std::vector<int32_t> seq{o[b * 11], o[b * 11 + 1], o[b * 11 + 2]};
      for (int s = 0; s < 8; ++s) {
        const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(seq.size()) - 6);
        std::vector<int32_t> ctx(seq.begin() + from, seq.end());
        Tensor logits = model.forward(ids_of(ctx, 1, static_cast<int64_t>(ctx.size())), rng);
        auto row = narrow(logits, 1, logits.size(1) - 1, 1).to_vector<double>();
        seq.push_back(static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
      }
      EXPECT_EQ(std::vector<int32_t>(o.begin() + b * 11, o.begin() + (b + 1) * 11), seq) << pos;
    }
    EXPECT_TRUE(model.training());  // the mode is restored
  }
}

TEST(Sampling, TemperatureTopKTopP) {
  Rng rng(7);
  std::vector<double> logits{1.0, 3.0, 2.0, -1.0};
  EXPECT_EQ(nn::sample_logits(logits, 0, 0, 1.0, rng), 1);
  for (int i = 0; i < 200; ++i) {
    int32_t t = nn::sample_logits(logits, 1.0, 2, 1.0, rng);  // top-2: {1, 2}
    EXPECT_TRUE(t == 1 || t == 2);
    // p = softmax = (.090, .665, .245, .012): top-p 0.7 keeps {1, 2}, 0.5 keeps {1}
    t = nn::sample_logits(logits, 1.0, 0, 0.7, rng);
    EXPECT_TRUE(t == 1 || t == 2);
    EXPECT_EQ(nn::sample_logits(logits, 1.0, 0, 0.5, rng), 1);
  }
  // Frequencies follow the softmax at temperature 1.
  int counts[4] = {0, 0, 0, 0};
  for (int i = 0; i < 20000; ++i) ++counts[nn::sample_logits(logits, 1.0, 0, 1.0, rng)];
  EXPECT_NEAR(counts[1] / 20000.0, 0.6652, 0.015);
  EXPECT_NEAR(counts[2] / 20000.0, 0.2447, 0.015);
  EXPECT_THROW(nn::sample_logits(logits, -1, 0, 1.0, rng), Error);
  EXPECT_THROW(nn::sample_logits(logits, 1, 0, 0.0, rng), Error);
}

TEST(GPT, InitStatisticsMatchTorchGpt) {
  nn::GPTConfig c;
  c.vocab_size = 65;
  c.block_size = 64;
  c.n_layer = 4;
  c.n_embd = 128;
  Rng rng(8);
  nn::GPT model(c, rng);
  auto stats = [](const Tensor& t) {
    auto v = t.to_vector<double>();
    double s = 0, s2 = 0;
    for (double x : v) s += x, s2 += x * x;
    const double n = static_cast<double>(v.size());
    return std::pair<double, double>{s / n, std::sqrt(s2 / n - (s / n) * (s / n))};
  };
  const double resid = 0.02 / std::sqrt(2.0 * 4);
  for (auto& [name, p] : model.named_parameters()) {
    auto [mu, sd] = stats(p);
    const bool is_bias = name.size() >= 4 && name.substr(name.size() - 4) == "bias";
    if (name.find("ln_") == 0 || name.find(".ln_") != std::string::npos) {
      EXPECT_EQ(sd, 0.0) << name;
      EXPECT_EQ(mu, is_bias ? 0.0 : 1.0) << name;
    } else if (is_bias) {
      EXPECT_EQ(sd, 0.0) << name;
      EXPECT_EQ(mu, 0.0) << name;
    } else {
      const double want = name.find("c_proj.weight") != std::string::npos ? resid : 0.02;
      EXPECT_NEAR(sd / want, 1.0, 0.04) << name;
      EXPECT_NEAR(mu, 0.0, want * 0.05) << name;
    }
  }
  // Tied weights: one tensor, listed once, used by the LM head.
  EXPECT_TRUE(model.lm_head_weight().same_storage(model.wte.weight));
  EXPECT_EQ(model.state_dict().count("lm_head.weight"), 0u);
  model.to(DType::F64);
  EXPECT_TRUE(model.lm_head_weight().same_storage(model.wte.weight));
}

TEST(GPT, ParameterAndFlopCountsFollowTorchGpt) {
  nn::GPTConfig c;
  c.vocab_size = 65;  // the nanoGPT CPU recipe: 4 x 128, context 64
  Rng rng(9);
  nn::GPT model(c, rng);
  const int64_t C = 128, L = 4, V = 65, T = 64;
  const int64_t per_block = 2 * 2 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C);
  const int64_t total = V * C + T * C + L * per_block + 2 * C;
  EXPECT_EQ(model.num_parameters(), total);
  EXPECT_EQ(model.num_non_embedding_parameters(), total - T * C);
  EXPECT_DOUBLE_EQ(model.flops_per_token(), 6.0 * (total - T * C) + 12.0 * L * C * T);
  nn::GPTConfig u = c;
  u.tie_weights = false;
  u.pos = nn::Pos::Rope;
  Rng rng2(9);
  EXPECT_EQ(nn::GPT(u, rng2).num_parameters(), total - T * C + V * C);
}

TEST(GPT, ForwardShapesAndIdErrors) {
  Rng rng(10);
  nn::GPT model(tiny("pre"), rng);
  EXPECT_EQ(model.forward(ids_of({1, 2, 3, 4, 5, 6}, 2, 3), rng).shape(), (Shape{2, 3, 7}));
  EXPECT_THROW(model.forward(ids_of({1, 2, 3, 4, 5, 6}, 1, 6), rng), Error);  // T > block_size
  EXPECT_THROW(model.forward(ids_of({1, 7}, 1, 2), rng), Error);              // id >= V
  EXPECT_THROW(model.forward(Tensor::zeros({1, 2}), rng), Error);             // float ids
}

TEST(GPTConfig, BadValuesAreRefusedWithTheKeyNamed) {
  auto expect_error = [](nn::GPTConfig c, const std::vector<std::string>& words) {
    try {
      c.validate();
      ADD_FAILURE() << "accepted a config that should fail with " << words[0];
    } catch (const Error& e) {
      for (const auto& w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
    }
    Rng rng(0);
    EXPECT_THROW(nn::GPT(c, rng), Error);  // the constructor validates too
  };
  nn::GPTConfig ok = tiny("pre");
  EXPECT_NO_THROW(ok.validate());
  nn::GPTConfig c = ok;
  c.n_head = 3;
  expect_error(c, {"GPTConfig.n_head", "does not divide n_embd = 8"});
  c = ok, c.vocab_size = 0;
  expect_error(c, {"GPTConfig.vocab_size"});
  c = ok, c.n_embd = -8;
  expect_error(c, {"GPTConfig.n_embd"});
  c = ok, c.block_size = -1;
  expect_error(c, {"GPTConfig.block_size"});
  c = ok, c.n_layer = 0;
  expect_error(c, {"GPTConfig.n_layer"});
  // The choices are enums: only a value cast from an integer can name no entry (a config file's
  // unknown name is refused where it is parsed, tests/train/test_config.cpp).
  c = ok, c.norm = static_cast<nn::NormPlacement>(7);
  expect_error(c, {"GPTConfig.norm", "value 7", "pre|post|deepnorm"});
  c = ok, c.pos = static_cast<nn::Pos>(7);
  expect_error(c, {"GPTConfig.pos", "learned|rope|none"});
  c = ok, c.ffn = static_cast<nn::Ffn>(7);
  expect_error(c, {"GPTConfig.ffn", "gelu|gelu_tanh|geglu|swiglu"});
  c = ok, c.norm_type = static_cast<nn::NormType>(7);
  expect_error(c, {"GPTConfig.norm_type", "layernorm|rmsnorm"});
  c = ok, c.dropout = 1.0;
  expect_error(c, {"GPTConfig.dropout"});
  c = ok, c.pos = nn::Pos::Rope, c.n_head = 8;  // head size 1
  expect_error(c, {"GPTConfig.pos", "even head size"});
  c = ok, c.keys.set("rope_base", 0.5);
  expect_error(c, {"GPTConfig.rope_base"});
}

}  // namespace
}  // namespace tlm
