// Architecture variants (docs/methods.md, "Attention weights", "GAU", "HWFA"): relu^2 and log-n
// attention weights, GAU, HWFA layout, contexts longer than the training one, and deep DeepNorm /
// Post-Norm stacks.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "nn/attention_weights.h"
#include "nn/gau.h"
#include "nn/transformer_block.h"
#include "nn/gpt.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;
using In = const std::vector<Tensor>&;

nn::AttentionWeightOptions weights(const char* attn, const char* scale, int64_t window = 0) {
  nn::AttentionWeightOptions o;
  o.attn = nn::parse<nn::AttnKind>(attn);
  o.attn_scale = nn::parse<nn::AttnScale>(scale);
  o.base_scale = 0.7;
  o.train_len = 4;
  o.window = window;
  return o;
}

TEST(AttentionWeights, VisibleKeysAndLogNScale) {
  EXPECT_EQ(nn::visible_keys(5, 0, 0), (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(nn::visible_keys(4, 2, 3), (std::vector<double>{3, 3, 3, 3}));
  // log_N(n): exactly the base scale at n = N, the training length (docs/methods.md,
  // "Attention weights").
  std::vector<double> c = nn::row_scales(8, 0, weights("softmax", "logn"));
  EXPECT_DOUBLE_EQ(c[3], 0.7);
  EXPECT_DOUBLE_EQ(c[0], 0.0);
  EXPECT_NEAR(c[7], 0.7 * std::log(8.0) / std::log(4.0), 1e-15);
}

TEST(AttentionWeights, Relu2MatchesTheFormulaAndSoftmaxLogNMatchesAReference) {
  for (int64_t window : {0, 2}) {
    for (int64_t offset : {0, 2}) {
      const int64_t Tq = 3, Tk = offset + Tq;
      Tensor s = randn64({2, Tq, Tk}, 5);
      auto sv = s.to_vector<double>();
      for (const char* scale : {"sqrt", "logn"}) {
        nn::AttentionWeightOptions o = weights("relu2", scale, window);
        std::vector<double> c = nn::row_scales(Tq, offset, o);
        std::vector<double> n = nn::visible_keys(Tq, offset, window);
        auto a = nn::attention_weights(s, o, offset).to_vector<double>();
        o.attn = nn::AttnKind::Softmax;
        auto p = nn::attention_weights(s, o, offset).to_vector<double>();
        for (int64_t b = 0; b < 2; ++b)
          for (int64_t i = 0; i < Tq; ++i) {
            const int64_t pos = offset + i, lo = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
            double z = 0;
            for (int64_t j = lo; j <= pos; ++j) z += std::exp(c[i] * sv[(b * Tq + i) * Tk + j]);
            for (int64_t j = 0; j < Tk; ++j) {
              const size_t at = static_cast<size_t>((b * Tq + i) * Tk + j);
              const bool vis = j >= lo && j <= pos;
              const double r = std::max(0.0, c[i] * sv[at]);
              EXPECT_NEAR(a[at], vis ? r * r / n[i] : 0.0, 1e-14) << scale << window << offset;
              EXPECT_NEAR(p[at], vis ? std::exp(c[i] * sv[at]) / z : 0.0, 1e-14);
            }
          }
      }
    }
  }
}

TEST(AttentionWeights, Gradcheck) {
  for (const char* attn : {"softmax", "relu2"})
    for (const char* scale : {"sqrt", "logn"})
      for (int64_t window : {0, 3}) {
        nn::AttentionWeightOptions o = weights(attn, scale, window);
        EXPECT_GRADCHECK([o](In x) { return nn::attention_weights(x[0], o, 0); },
                         {randn64({2, 1, 5, 5}, 7)});
        EXPECT_GRADCHECK([o](In x) { return nn::attention_weights(x[0], o, 2); },
                         {randn64({2, 3, 5}, 8)});
      }
}

TEST(Attention, Relu2LogNWindowParameterGrads) {
  for (const char* attn : {"softmax", "relu2"}) {
    nn::AttentionOptions o;
    o.n_embd = 8;
    o.n_head = 2;
    o.block_size = 6;
    o.pos = nn::Pos::Rope;
    o.attn = nn::parse<nn::AttnKind>(attn);
    o.attn_scale = nn::AttnScale::LogN;
    o.window = 3;
    Rng rng(2);
    nn::CausalSelfAttention a(o, rng);
    a.to(DType::F64);
    Tensor x = randn64({2, 5, 8}, 3);
    expect_parameter_grads(a, [&] { return weighted_sum(a.forward(x, rng)); });
  }
}

nn::GAUBlockOptions small_gau(const char* norm, const char* attn, const char* scale,
                              const char* pos = "rope") {
  nn::GAUBlockOptions o;
  o.block.attn.n_embd = 6;
  o.block.attn.n_head = 1;  // GAU is single-head; n_head is unused
  o.block.attn.block_size = 6;
  o.block.attn.pos = nn::parse<nn::Pos>(pos);
  o.block.attn.attn = nn::parse<nn::AttnKind>(attn);
  o.block.attn.attn_scale = nn::parse<nn::AttnScale>(scale);
  o.block.norm = nn::parse<nn::NormPlacement>(norm);
  o.block.n_layer = 3;
  o.expansion_dim = 8;
  o.attn_dim = 4;
  return o;
}

TEST(GAU, MatchesItsFormula) {
  Rng rng(4);
  nn::GAUBlockOptions o = small_gau("pre", "softmax", "sqrt", "none");
  nn::GAU g(o, rng);
  g.to(DType::F64);
  {
    NoGradGuard ng;
    Tensor(g.gamma_q).copy_from(randn64({4}, 9));
    Tensor(g.gamma_k).copy_from(randn64({4}, 10));
    Tensor(g.beta_q).copy_from(randn64({4}, 13));
    Tensor(g.beta_k).copy_from(randn64({4}, 14));
  }
  Tensor x = randn64({1, 4, 6}, 5);
  // Reference by hand: U, V, Z from row blocks of i_dense, A = softmax(Q K^T / sqrt(s)).
  Tensor h = silu(g.i_dense.forward(x));
  Tensor u = narrow(h, -1, 0, 8), v = narrow(h, -1, 8, 8), z = narrow(h, -1, 16, 4);
  Tensor q = add(mul(z, g.gamma_q), g.beta_q);
  Tensor k = add(mul(z, g.gamma_k), g.beta_k);
  Tensor s = mul(matmul(q, transpose(k, -2, -1)), 0.5);
  Tensor mask = Tensor::zeros({4, 4}, DType::F64);
  {
    std::vector<double> m(16, 0.0);
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) m[i * 4 + j] = 1;
    mask = Tensor::from_vector(m, {4, 4});
  }
  Tensor a = softmax(add(s, mul(mask, -1e30)), -1);
  Tensor ref = g.o_dense.forward(mul(u, matmul(a, v)));
  EXPECT_LT(max_abs_diff(g.forward(x, rng), ref), 1e-13);
}

TEST(GAU, ParameterAndInputGradsForEachVariant) {
  struct Case { const char* norm; const char* attn; const char* scale; };
  for (const Case& c : {Case{"pre", "softmax", "sqrt"}, Case{"post", "relu2", "logn"},
                        Case{"deepnorm", "relu2", "sqrt"}, Case{"pre", "softmax", "logn"}}) {
    Rng rng(6);
    nn::GAUBlock b(small_gau(c.norm, c.attn, c.scale), rng);
    b.to(DType::F64);
    for (auto& [name, p] : b.named_parameters()) {  // non-trivial gammas and offsets
      NoGradGuard g;
      Tensor(p).copy_from(add(randn64(p.shape(), 11, 0.3),
                              name.find("weight") != std::string::npos &&
                                      name.find("ln") != std::string::npos ? 1.0 : 0.0));
    }
    Tensor x = randn64({2, 5, 6}, 12);
    expect_parameter_grads(b, [&] { return weighted_sum(b.forward(x, rng)); });
    EXPECT_GRADCHECK([&](In in) { return b.forward(in[0], rng); }, {x});
  }
}

TEST(GAU, DeepNormConstants) {
  Rng rng(1);
  nn::GAUBlock b(small_gau("deepnorm", "softmax", "sqrt"), rng);
  EXPECT_DOUBLE_EQ(b.alpha(), std::pow(6.0, 0.25));
}

nn::GPTConfig tiny(const std::string& block) {
  nn::GPTConfig c;
  c.vocab_size = 11;
  c.block_size = 8;
  c.n_layer = 3;
  c.n_head = 2;
  c.n_embd = 8;
  c.block = block;
  c.keys.set("gau_attn_size", int64_t{4});
  c.pos = nn::Pos::Rope;
  return c;
}

Tensor ids(int64_t B, int64_t T, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = static_cast<int32_t>(r.randint(11));
  return Tensor::from_vector(v, {B, T});
}

TEST(GPTVariants, KVCacheMatchesFullForwardForEveryVariant) {
  struct Case { const char* block; const char* attn; const char* scale; int64_t window; const char* layout; };
  for (const Case& c : {Case{"gau", "softmax", "sqrt", 0, "uniform"}, Case{"gau", "relu2", "logn", 3, "uniform"},
                        Case{"transformer", "relu2", "logn", 0, "uniform"},
                        Case{"transformer", "softmax", "sqrt", 3, "hwfa"}, Case{"gau", "relu2", "sqrt", 3, "hwfa"}}) {
    nn::GPTConfig cfg = tiny(c.block);
    cfg.attn = nn::parse<nn::AttnKind>(c.attn);
    cfg.attn_scale = nn::parse<nn::AttnScale>(c.scale);
    cfg.window = c.window;
    cfg.layout = nn::parse<nn::Layout>(c.layout);
    Rng rng(3);
    nn::GPT m(cfg, rng);
    m.to(DType::F64);
    m.eval();
    NoGradGuard ng;
    Tensor x = ids(2, 7, 4);
    Tensor full = m.forward(x, rng);
    nn::KVCache cache = m.make_cache();
    Tensor a = m.forward(narrow(x, 1, 0, 4).contiguous(), rng, &cache);
    Tensor b = m.forward(narrow(x, 1, 4, 3).contiguous(), rng, &cache);
    EXPECT_LT(max_abs_diff(concat({a, b}, 1), full), 1e-12) << c.block << c.attn << c.layout;
  }
}

// attn_kernel = fused (the tiled kernel) against composed (matmul + softmax + matmul): logits
// and every parameter gradient, for each block type and the softmax variants, with a context
// longer than one 64-row tile.
TEST(GPTVariants, FusedAttentionMatchesComposed) {
  struct Case { const char* block; const char* scale; int64_t window; const char* layout; };
  for (const Case& c : {Case{"transformer", "sqrt", 0, "uniform"}, Case{"transformer", "logn", 70, "uniform"},
                        Case{"transformer", "sqrt", 5, "hwfa"}, Case{"gau", "sqrt", 0, "uniform"},
                        Case{"gau", "logn", 66, "uniform"}}) {
    auto run = [&](const char* kernel) {
      nn::GPTConfig cfg = tiny(c.block);
      cfg.n_layer = 2;
      cfg.block_size = 80;
      cfg.attn_scale = nn::parse<nn::AttnScale>(c.scale);
      cfg.window = c.window;
      cfg.layout = nn::parse<nn::Layout>(c.layout);
      cfg.attn_kernel = nn::parse<nn::AttnKernel>(kernel);
      Rng rng(9);
      nn::GPT m(cfg, rng);
      m.to(DType::F64);
      Tensor logits = m.forward(ids(2, 80, 10), rng);
      reference_cross_entropy(logits, ids(2, 80, 11)).backward();
      std::vector<Tensor> out{logits};
      for (auto& [name, p] : m.named_parameters()) out.push_back(p.grad());
      return out;
    };
    std::vector<Tensor> f = run("fused"), p = run("composed");
    ASSERT_EQ(f.size(), p.size());
    for (size_t i = 0; i < f.size(); ++i)
      EXPECT_LT(max_abs_diff(f[i], p[i]), 1e-12) << c.block << " " << c.scale << " window " << c.window
                                                 << " " << c.layout << (i == 0 ? " logits" : " grad") << i;
  }
}

TEST(GPTVariants, WholeModelParameterGrads) {
  nn::GPTConfig cfg = tiny("gau");
  cfg.attn = nn::AttnKind::Relu2;
  cfg.window = 3;
  cfg.layout = nn::Layout::Hwfa;
  cfg.n_layer = 2;
  Rng rng(5);
  nn::GPT m(cfg, rng);
  m.to(DType::F64);
  Tensor x = ids(2, 6, 6), y = ids(2, 6, 7);
  expect_parameter_grads(m, [&] { return reference_cross_entropy(m.forward(x, rng), y); },
                         {.stride = 3});
}

TEST(GPTVariants, HwfaTopLayerIsFullNoPELogN) {
  nn::GPTConfig cfg = tiny("transformer");
  cfg.window = 3;
  cfg.layout = nn::Layout::Hwfa;
  Rng rng(1);
  nn::GPT m(cfg, rng);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(static_cast<nn::TransformerBlock&>(*m.h[i]).attn.options().pos, nn::Pos::Rope);
    EXPECT_EQ(static_cast<nn::TransformerBlock&>(*m.h[i]).attn.options().window, 3);
  }
  EXPECT_EQ(static_cast<nn::TransformerBlock&>(*m.h[2]).attn.options().pos, nn::Pos::None);
  EXPECT_EQ(static_cast<nn::TransformerBlock&>(*m.h[2]).attn.options().window, 0);
  EXPECT_EQ(static_cast<nn::TransformerBlock&>(*m.h[2]).attn.options().attn_scale, nn::AttnScale::LogN);
}

TEST(GPTVariants, LongerContextThanTrainingForRopeAndNone) {
  for (const char* block : {"transformer", "gau"})
    for (const char* pos : {"rope", "none"}) {
      nn::GPTConfig cfg = tiny(block);
      cfg.pos = nn::parse<nn::Pos>(pos);
      cfg.attn_scale = nn::AttnScale::LogN;
      Rng rng(2);
      nn::GPT m(cfg, rng);
      NoGradGuard ng;
      Tensor x = ids(1, 20, 3);
      Tensor long_out = m.forward(x, rng);  // 20 > block_size 8
      EXPECT_EQ(long_out.shape(), (Shape{1, 20, 11}));
      // Causal: the first 8 logits do not depend on the later tokens.
      Tensor short_out = m.forward(narrow(x, 1, 0, 8).contiguous(), rng);
      EXPECT_LT(max_abs_diff(narrow(long_out, 1, 0, 8).contiguous(), short_out), 1e-5);
    }
  nn::GPTConfig cfg = tiny("transformer");
  cfg.pos = nn::Pos::Learned;
  Rng rng(2);
  nn::GPT m(cfg, rng);
  EXPECT_THROW(m.forward(ids(1, 9, 3), rng), Error);
}

TEST(GPTVariants, BadConfigsAreRefusedWithTheReason) {
  auto refused = [](nn::GPTConfig c, const std::string& needle) {
    try {
      c.validate();
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  nn::GPTConfig c = tiny("gau");
  c.window = 9;
  refused(c, "window");
  c = tiny("gau");
  c.keys.set("gau_attn_size", int64_t{5});
  refused(c, "gau_attn_size");
  c = tiny("mlp");
  refused(c, "transformer|gau");
  c = tiny("gau");
  c.layout = nn::Layout::Hwfa;  // window = 0
  refused(c, "hwfa");
  c = tiny("gau");
  c.attn = static_cast<nn::AttnKind>(7);  // no entry (a config's unknown name fails where it is parsed)
  refused(c, "softmax|relu2");
}

// 200 blocks of width 16: forward + backward must neither overflow the stack nor grow worse
// than linearly in depth: peak memory and the work done (tensor allocations, a deterministic
// stand-in for time, which a shared machine makes too noisy to assert) of 100 vs 200 layers.
TEST(DeepNetworks, TwoHundredLayersTrainLinearInDepth) {
  for (const char* norm : {"deepnorm", "post"}) {
    auto run = [&](int64_t layers) {
      nn::GPTConfig c;
      c.vocab_size = 11;
      c.block_size = 8;
      c.n_layer = layers;
      c.n_head = 2;
      c.n_embd = 16;
      c.norm = nn::parse<nn::NormPlacement>(norm);
      Rng rng(1);
      nn::GPT m(c, rng);
      reset_peak_memory();
      const int64_t base = memory_stats().current_bytes;
      const int64_t allocations0 = memory_stats().allocations;
      Tensor loss = reference_cross_entropy(m.forward(ids(2, 8, 1), rng), ids(2, 8, 2));
      loss.backward();
      const double s = static_cast<double>(memory_stats().allocations - allocations0);
      EXPECT_TRUE(std::isfinite(loss.item())) << norm;
      for (auto& [name, p] : m.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
      return std::make_pair(s, static_cast<double>(memory_stats().peak_bytes - base));
    };
    run(20);  // warm up
    auto [t100, m100] = run(100);
    auto [t200, m200] = run(200);
    EXPECT_LT(t200, 2.2 * t100) << norm << ": " << t100 << " vs " << t200 << " allocations";
    EXPECT_LT(m200, 2.6 * m100) << norm << ": " << m100 << " B vs " << m200 << " B";
  }
}

}  // namespace
}  // namespace tlm
