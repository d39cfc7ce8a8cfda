// tlm's GPT against PyTorch: tests/reference/gpt_reference.py builds bench/torch_gpt.py's model
// (float64, fixed seed) and records its weights, logits, loss and parameter gradients in
// tests/reference/golden/gpt_small.txt. Loaded into tlm's GPT, the same weights must give
// the same numbers: to 1e-12 in float64, 1e-5 in float32.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "nn/gpt.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;

struct Golden {
  nn::GPTConfig config;
  Tensor ids, targets;  // [B,T] int32
  double loss = 0;
  Tensor logits;        // [B,T,V] float64
  std::map<std::string, Tensor> params, grads;
};

Golden read_golden(const std::string& path) {
  std::ifstream in(path);
  TLM_CHECK(in.good(), "golden: cannot open {}", path);
  Golden g;
  std::string line, tag;
  std::getline(in, line);
  TLM_CHECK(line == "tlm-golden-gpt 1", "golden: {}: unknown header '{}'", path, line);
  auto read_shape = [](std::istringstream& s, int64_t ndim) {
    Shape shape(ndim);
    for (auto& d : shape) s >> d;
    return shape;
  };
  auto read_f64 = [](std::istringstream& s, const Shape& shape) {
    std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
    for (auto& x : v) s >> x;
    TLM_CHECK(!s.fail(), "golden: short record");
    return Tensor::from_vector(v, shape);
  };
  auto read_i32 = [](std::istringstream& s, const Shape& shape) {
    std::vector<int32_t> v(static_cast<size_t>(shape_numel(shape)));
    for (auto& x : v) s >> x;
    TLM_CHECK(!s.fail(), "golden: short record");
    return Tensor::from_vector(v, shape);
  };
  while (std::getline(in, line)) {
    std::istringstream s(line);
    s >> tag;
    if (tag == "config") {
      std::string key;
      int64_t value;
      while (s >> key >> value) {
        if (key == "vocab_size") g.config.vocab_size = value;
        if (key == "block_size") g.config.block_size = value;
        if (key == "n_layer") g.config.n_layer = value;
        if (key == "n_head") g.config.n_head = value;
        if (key == "n_embd") g.config.n_embd = value;
        if (key == "bias") g.config.bias = value != 0;
      }
    } else if (tag == "ids" || tag == "targets") {
      Tensor t = read_i32(s, read_shape(s, 2));
      (tag == "ids" ? g.ids : g.targets) = t;
    } else if (tag == "loss") {
      s >> g.loss;
    } else if (tag == "logits") {
      g.logits = read_f64(s, read_shape(s, 3));
    } else if (tag == "param" || tag == "grad") {
      std::string name;
      int64_t ndim;
      s >> name >> ndim;
      Tensor t = read_f64(s, read_shape(s, ndim));
      (tag == "param" ? g.params : g.grads)[name] = t;
    }
  }
  return g;
}

const std::string kGolden = std::string(TLM_SOURCE_DIR) + "/tests/reference/golden/gpt_small.txt";

TEST(GoldenTorch, Float64LogitsLossAndEveryGradientMatchPyTorch) {
  Golden g = read_golden(kGolden);
  Rng rng(0);
  nn::GPT model(g.config, rng);
  model.to(DType::F64);
  model.load_state_dict(g.params);  // names and shapes must match exactly
  Tensor logits = model.forward(g.ids, rng);
  EXPECT_LT(max_abs_diff(logits, g.logits), 1e-12);
  Tensor loss = reference_cross_entropy(logits, g.targets);
  EXPECT_NEAR(loss.item(), g.loss, 1e-12);
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(g.grads.count(name)) << name;
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LT(max_abs_diff(p.grad(), g.grads.at(name)), 1e-12) << name;
  }
}

TEST(GoldenTorch, Float32LogitsAndLossMatchPyTorch) {
  Golden g = read_golden(kGolden);
  Rng rng(0);
  nn::GPT model(g.config, rng);
  std::map<std::string, Tensor> f32;
  for (auto& [name, t] : g.params) f32[name] = t.to(DType::F32);
  model.load_state_dict(f32);
  Tensor logits = model.forward(g.ids, rng);
  EXPECT_LT(max_abs_diff(logits, g.logits), 1e-5);
  EXPECT_NEAR(reference_cross_entropy(logits, g.targets).item(), g.loss, 1e-5);
}

}  // namespace
}  // namespace tlm
