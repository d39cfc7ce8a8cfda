// The backward engine: accumulation, no_grad, freeing saved tensors, depth, and the errors.
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tlm {
namespace {


Tensor leaf(std::vector<double> v, Shape s) {
  return Tensor::from_vector(v, s).set_requires_grad(true);
}

TEST(Engine, ClosedFormGradient) {
  // y = sum(x * x + 3x)  ->  dy/dx = 2x + 3
  Tensor x = leaf({1, -2, 0.5}, {3});
  sum(add(mul(x, x), mul(x, 3.0))).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, -1, 4}));
}

TEST(Engine, TensorUsedTwiceAccumulatesBothContributions) {
  Tensor x = leaf({2.0}, {1});
  Tensor y = mul(exp(x), x);  // d/dx (x e^x) = e^x (1 + x)
  sum(y).backward();
  EXPECT_NEAR(x.grad().item(), std::exp(2.0) * 3.0, 1e-12);
}

TEST(Engine, SecondBackwardOnANewGraphAccumulatesIntoGrad) {
  Tensor x = leaf({1.0, 2.0}, {2});
  sum(mul(x, 2.0)).backward();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 5}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

// A leaf takes the incoming gradient's buffer when nothing else holds it (a product's output),
// and copies it otherwise: add's backward hands the same gradient to both of its inputs, so
// two leaves summed must still end with separate buffers, and accumulating into one (a second
// backward) must leave the other alone.
TEST(Engine, LeafGradientsNeverShareABuffer) {
  Tensor a = leaf({1, 2, 3}, {3}), b = leaf({4, 5, 6}, {3});
  sum(add(a, b)).backward();
  ASSERT_NE(a.grad().data<double>(), b.grad().data<double>());
  sum(mul(a, 2.0)).backward();  // a.grad += 2: b.grad must stay 1
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3, 3, 3}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1, 1, 1}));
  // The same with the gradient flowing straight from the root into two leaves' views.
  Tensor c = leaf({1, 2}, {2});
  Tensor d = leaf({3, 4}, {2});
  Tensor s = add(mul(c, 1.0), d);
  s.backward(Tensor::from_vector(std::vector<double>{7, 8}, {2}));
  ASSERT_NE(c.grad().data<double>(), d.grad().data<double>());
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{7, 8}));
  EXPECT_EQ(d.grad().to_vector<double>(), (std::vector<double>{7, 8}));
  // The engine sums a node's incoming gradients in place only into a buffer it alone holds:
  // e + e hands the same gradient twice to one input, and e feeds four consumers here.
  Tensor e = leaf({1, 2}, {2});
  Tensor m = mul(e, 3.0);
  sum(add(add(add(m, m), mul(m, 2.0)), exp(m))).backward();  // d/de = 3 (1 + 1 + 2 + e^{3e})
  EXPECT_NEAR(e.grad().to_vector<double>()[0], 3 * (4 + std::exp(3.0)), 1e-9);
  EXPECT_NEAR(e.grad().to_vector<double>()[1], 3 * (4 + std::exp(6.0)), 1e-9);
}

TEST(Engine, OnlyInputsThatRequireGradReceiveOne) {
  Tensor a = leaf({1, 2}, {2});
  Tensor b = Tensor::from_vector(std::vector<double>{3, 4}, {2});
  sum(mul(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3, 4}));
  EXPECT_FALSE(b.grad().defined());
}

TEST(Engine, NoGradRecordsNothing) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y;
  {
    NoGradGuard no_grad;
    y = exp(x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_TRUE(GradMode::enabled());  // the guard restored the mode
  Tensor z = exp(x);
  EXPECT_NE(z.grad_fn(), nullptr);
}

TEST(Engine, DetachCutsTheGraph) {
  Tensor x = leaf({3.0}, {1});
  Tensor y = mul(x, stop_gradient(x));  // d/dx [x * sg(x)] = sg(x) = 3
  sum(y).backward();
  EXPECT_EQ(x.grad().item(), 3.0);
}

TEST(Engine, SavedTensorsAreFreedDuringBackward) {
  // A chain of 20 exps over 1M floats keeps ~20 activations alive until backward.
  reset_peak_memory();
  const int64_t base = memory_stats().current_bytes;
  Tensor x = Tensor::full({1 << 20}, 0.001).set_requires_grad(true);
  Tensor h = x;
  for (int i = 0; i < 20; ++i) h = mul(exp(h), 0.5);
  Tensor loss = sum(h);
  h = Tensor();
  const int64_t before = memory_stats().current_bytes - base;
  loss.backward();
  const int64_t after = memory_stats().current_bytes - base;
  const int64_t mb = 4 << 20;
  EXPECT_GT(before, 15 * mb);  // the saved activations were really held
  EXPECT_LT(after, 3 * mb);    // x and its grad remain; every activation is gone
}

TEST(Engine, DeepChainsNeitherOverflowTheStackNorGoQuadratic) {
  // 200,000 recorded ops: a recursive backward or destructor would overflow the stack.
  Tensor x = leaf({0.5}, {1});
  Tensor h = x;
  for (int i = 0; i < 100000; ++i) h = add(mul(h, 1.0), 0.0);
  sum(h).backward();
  EXPECT_EQ(x.grad().item(), 1.0);
  h = Tensor();  // tears down the whole chain iteratively
}

TEST(EngineErrors, BackwardOnANonScalarWithoutGradient) {
  Tensor x = leaf({1, 2}, {2});
  EXPECT_TLM_ERROR(exp(x).backward(),
                        "backward: called on a non-scalar tensor float64[2] without a gradient");
}

TEST(EngineErrors, BackwardTwiceThroughFreedBuffers) {
  Tensor x = leaf({1, 2}, {2});
  Tensor loss = sum(exp(x));
  loss.backward();
  EXPECT_TLM_ERROR(loss.backward(), "saved tensors were freed");
}

TEST(EngineErrors, InPlaceChangeOfASavedTensor) {
  Tensor x = leaf({1, 2}, {2});
  Tensor w = Tensor::from_vector(std::vector<double>{3, 4}, {2});
  Tensor loss = sum(mul(x, w));
  w.fill_(0.0);  // w was saved for x's gradient
  EXPECT_TLM_ERROR(loss.backward(), "mul backward: a tensor saved for backward was modified in place");
}

TEST(EngineErrors, BackwardWithoutAnythingRequiringGrad) {
  Tensor x = Tensor::from_vector(std::vector<double>{1}, {1});
  EXPECT_TLM_ERROR(sum(x).backward(), "does not require grad");
}

TEST(EngineErrors, RequiresGradOnlyOnFloatingLeaves) {
  Tensor ids = Tensor::zeros({2}, DType::I32);
  EXPECT_TLM_ERROR(ids.set_requires_grad(true), "only floating tensors can require gradients");
  Tensor x = leaf({1}, {1});
  Tensor y = exp(x);
  EXPECT_TLM_ERROR(y.set_requires_grad(false), "can only be set on a leaf");
}

TEST(EngineErrors, GradientOfTheWrongShape) {
  Tensor x = leaf({1, 2}, {2});
  EXPECT_TLM_ERROR(exp(x).backward(Tensor::ones({3}, DType::F64)),
                        "backward: grad_output float64[3] does not match the tensor float64[2]");
}

TEST(OpErrors, ShapeMismatchesNameTheOpAndBothShapes) {
  Tensor a = Tensor::zeros({4, 3}), b = Tensor::zeros({5, 2});
  EXPECT_TLM_ERROR(matmul(a, b), "matmul: [4,3] x [5,2]: inner dimensions 3 and 5 differ");
  EXPECT_TLM_ERROR(add(a, b), "add: shapes [4,3] and [5,2] cannot be broadcast");
  EXPECT_TLM_ERROR(reshape(a, {5, -1}), "reshape: cannot infer -1 in [5,-1] for 12 elements");
  EXPECT_TLM_ERROR(sum(a, 2), "sum: axis 2 is out of range for a 2-D tensor");
  EXPECT_TLM_ERROR(concat({a, b}, 0), "concat: [4,3] and [5,2] differ outside axis 0");
  EXPECT_TLM_ERROR(squeeze(a, 0), "squeeze: axis 0 of [4,3] has size 4, not 1");
  EXPECT_TLM_ERROR(dropout(a, 1.0, *std::make_unique<Rng>(1)), "dropout: probability must be in [0, 1)");
  EXPECT_TLM_ERROR(index_select(a, Tensor::from_vector(std::vector<int32_t>{7}, {1})),
                        "index_select: index 7 is out of range [0, 4)");
}

}  // namespace
}  // namespace tlm
