// Linear, Embedding, LayerNorm/RMSNorm, Dropout and MLP: values, float64 gradient checks of
// inputs and of every parameter, and errors.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "autograd/node.h"

#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "nn_test_util.h"

namespace tlm {
namespace {

using namespace tlm::testing;
using In = const std::vector<Tensor>&;

TEST(Linear, ComputesXWTransposePlusBiasInPyTorchLayout) {
  Rng rng(1);
  nn::Linear fc(3, 2, true, rng);
  EXPECT_EQ(fc.weight.shape(), (Shape{2, 3}));
  fc.to(DType::F64);
  {
    NoGradGuard g;
    fc.weight.copy_from(Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}));
    fc.bias.copy_from(Tensor::from_vector(std::vector<double>{0.5, -1}, {2}));
  }
  Tensor x = Tensor::from_vector(std::vector<double>{1, 0, -1, 2, 1, 0}, {2, 3});
  EXPECT_EQ(fc.forward(x).to_vector<double>(), (std::vector<double>{-1.5, -3, 4.5, 12}));
  EXPECT_EQ(fc.num_parameters(), 8);
  nn::Linear nb(3, 2, false, rng);
  EXPECT_EQ(nb.num_parameters(), 6);
  EXPECT_FALSE(nb.bias.defined());
}

TEST(Linear, GradcheckInputAndParameters) {
  Rng rng(2);
  for (bool bias : {true, false}) {
    nn::Linear fc(4, 3, bias, rng, 0.5);
    fc.to(DType::F64);
    EXPECT_GRADCHECK([&](In v) { return fc.forward(v[0]); }, {randn64({2, 5, 4}, 3)});
    EXPECT_GRADCHECK([&](In v) { return fc.forward(v[0]); }, {randn64({4}, 4)});
    Tensor x = randn64({2, 1, 4}, 5);
    expect_parameter_grads(fc, [&] { return weighted_sum(fc.forward(x)); });
  }
}

// The parameter-gradient checker used by every module test must be able to fail: a node
// that doubles its gradient is caught.
TEST(ParameterGradCheck, CatchesAWrongGradient) {
  struct Doubled : autograd::Node {
    const char* name() const override { return "doubled"; }
    std::vector<Tensor> backward(const Tensor& g) override { return {mul(g, 2.0)}; }
  };
  Rng rng(12);
  nn::Linear fc(3, 2, true, rng);
  fc.to(DType::F64);
  Tensor x = randn64({2, 3}, 13);
  auto bad_loss = [&] {
    Tensor y = fc.forward(x);
    Tensor z = y.detach().clone();
    if (autograd::needs_grad(y)) autograd::record(std::make_shared<Doubled>(), z, {&y});
    return weighted_sum(z);
  };
  EXPECT_NONFATAL_FAILURE(expect_parameter_grads(fc, bad_loss), "numeric");
}

TEST(Linear, ShapeErrorNamesBothShapes) {
  Rng rng(3);
  nn::Linear fc(4, 3, true, rng);
  try {
    fc.forward(Tensor::zeros({2, 5}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Linear: [2,5] x weight [3,4]"), std::string::npos) << e.what();
  }
}

TEST(Embedding, LooksUpRowsAndAccumulatesRepeatedIds) {
  Rng rng(4);
  nn::Embedding emb(5, 3, rng);
  emb.to(DType::F64);
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{4, 0, 4, 2}, {2, 2});
  Tensor y = emb.forward(ids);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  expect_parameter_grads(emb, [&] { return weighted_sum(emb.forward(ids)); });
  EXPECT_THROW(emb.forward(Tensor::from_vector(std::vector<int32_t>{5}, {1})), Error);
}

TEST(NormModules, GradcheckEveryVariant) {
  for (int variant = 0; variant < 4; ++variant) {
    std::unique_ptr<nn::Norm> norm;
    if (variant == 0) norm = std::make_unique<nn::LayerNorm>(6, true);
    if (variant == 1) norm = std::make_unique<nn::LayerNorm>(6, false);
    if (variant == 2) norm = std::make_unique<nn::RMSNorm>(6, true, 1e-6);
    if (variant == 3) norm = std::make_unique<nn::RMSNorm>(6, false, 1e-6);
    norm->to(DType::F64);
    // Move gamma/beta away from 1/0 so their gradients matter in the input check.
    for (auto& [name, p] : norm->named_parameters()) {
      NoGradGuard g;
      Tensor(p).copy_from(randn64(p.shape(), 10 + variant));
    }
    EXPECT_GRADCHECK([&](In v) { return norm->forward(v[0]); }, {randn64({2, 3, 6}, 20)});
    Tensor x = randn64({3, 6}, 21);
    if (norm->num_parameters() > 0)
      expect_parameter_grads(*norm, [&] { return weighted_sum(norm->forward(x)); });
  }
  EXPECT_EQ(nn::LayerNorm(6, false).num_parameters(), 6);
  EXPECT_EQ(nn::RMSNorm(6, false).num_parameters(), 0);
}

TEST(NormModules, FactoryRefusesUnknownTypes) {
  EXPECT_NE(dynamic_cast<nn::RMSNorm*>(
                nn::make_norm(nn::parse<nn::NormType>("rmsnorm"), 4, true, 1e-5).get()),
            nullptr);
  try {
    nn::make_norm(nn::parse<nn::NormType>("batchnorm"), 4, true, 1e-5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layernorm|rmsnorm"), std::string::npos) << e.what();
  }
}

TEST(Dropout, IdentityInEvalScalesKeptInTraining) {
  nn::Dropout drop(0.5);
  Rng rng(5);
  Tensor x = Tensor::ones({1000});
  Tensor y = drop.forward(x, rng);
  auto v = y.to_vector<float>();
  int zeros = 0;
  for (float f : v) {
    EXPECT_TRUE(f == 0.0f || f == 2.0f);
    zeros += f == 0.0f;
  }
  EXPECT_GT(zeros, 400);
  EXPECT_LT(zeros, 600);
  drop.eval();
  EXPECT_TRUE(drop.forward(x, rng).same_storage(x));
  EXPECT_THROW(nn::Dropout(1.0), Error);
}

TEST(MLP, GradcheckEachVariant) {
  for (const char* ffn : {"gelu", "geglu", "swiglu"}) {
    Rng rng(6);
    const int64_t C = 4;
    const nn::Ffn f = nn::parse<nn::Ffn>(ffn);
    nn::MLP mlp(C, nn::MLP::default_hidden(C, f), f, true, 0.0, rng);
    mlp.to(DType::F64);
    EXPECT_EQ(mlp.c_fc.weight.shape()[0], std::string(ffn) == "gelu" ? 16 : 2 * 16) << ffn;
    EXPECT_GRADCHECK([&](In v) { return mlp.forward(v[0], rng); }, {randn64({2, 3, C}, 7)});
    Tensor x = randn64({2, 2, C}, 8);
    expect_parameter_grads(mlp, [&] { return weighted_sum(mlp.forward(x, rng)); });
  }
  EXPECT_EQ(nn::MLP::default_hidden(128, nn::Ffn::Gelu), 512);
  EXPECT_EQ(nn::MLP::default_hidden(128, nn::Ffn::SwiGLU), 344);  // 8*128/3 = 341.3 -> 344
  EXPECT_THROW(nn::parse<nn::Ffn>("relu"), Error);
}

TEST(MLP, SwiGLUMatchesItsFormula) {
  Rng rng(10);
  nn::MLP mlp(3, 5, nn::Ffn::SwiGLU, false, 0.0, rng);
  mlp.to(DType::F64);
  Tensor x = randn64({2, 3}, 11);
  Tensor wa = narrow(mlp.c_fc.weight, 0, 0, 5), wb = narrow(mlp.c_fc.weight, 0, 5, 5);
  Tensor ref = matmul(mul(silu(matmul(x, transpose(wa))), matmul(x, transpose(wb))),
                      transpose(mlp.c_proj.weight));
  EXPECT_LT(max_abs_diff(mlp.forward(x, rng), ref), 1e-14);
}

}  // namespace
}  // namespace tlm
