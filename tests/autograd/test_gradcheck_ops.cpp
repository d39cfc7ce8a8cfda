// Every differentiable op against central finite differences, in float64: including
// broadcasting, size-1 dimensions and non-contiguous (transposed, narrowed) inputs.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/common/gradcheck.h"

namespace tlm {
namespace {

using testing::In;
using testing::randn64;
using testing::uniform64;

TEST(GradcheckOps, BinaryWithBroadcasting) {
  EXPECT_GRADCHECK([](In x) { return add(x[0], x[1]); }, {randn64({3, 4}, 1), randn64({4}, 2)});
  EXPECT_GRADCHECK([](In x) { return sub(x[0], x[1]); }, {randn64({3, 1}, 3), randn64({2, 1, 5}, 4)});
  EXPECT_GRADCHECK([](In x) { return mul(x[0], x[1]); }, {randn64({2, 3, 4}, 5), randn64({3, 1}, 6)});
  EXPECT_GRADCHECK([](In x) { return div(x[0], x[1]); },
                   {randn64({3, 4}, 7), uniform64({3, 4}, 8, 0.5, 2.0)});
  EXPECT_GRADCHECK([](In x) { return maximum(x[0], x[1]); }, {randn64({3, 4}, 9), randn64({4}, 10)});
  EXPECT_GRADCHECK([](In x) { return minimum(x[0], x[1]); }, {randn64({3, 4}, 11), randn64({3, 4}, 12)});
}

TEST(GradcheckOps, ScalarOps) {
  EXPECT_GRADCHECK([](In x) { return add(x[0], 2.5); }, {randn64({5}, 1)});
  EXPECT_GRADCHECK([](In x) { return mul(x[0], -3.0); }, {randn64({5}, 2)});
  EXPECT_GRADCHECK([](In x) { return pow(x[0], 3.0); }, {randn64({5}, 3)});
  EXPECT_GRADCHECK([](In x) { return pow(x[0], 0.5); }, {uniform64({5}, 4, 0.5, 2.0)});
  EXPECT_GRADCHECK([](In x) { return rsub(x[0], 1.0); }, {randn64({5}, 5)});
  EXPECT_GRADCHECK([](In x) { return rdiv(x[0], 2.0); }, {uniform64({5}, 6, 0.5, 2.0)});
  EXPECT_GRADCHECK([](In x) { return clamp(x[0], -0.5, 0.5); }, {uniform64({20}, 7, -1, 1)});
}

TEST(GradcheckOps, Unary) {
  auto x = randn64({4, 5}, 21);
  auto pos = uniform64({4, 5}, 22, 0.3, 3.0);
  EXPECT_GRADCHECK([](In v) { return neg(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return exp(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return log(v[0]); }, {pos});
  EXPECT_GRADCHECK([](In v) { return sqrt(v[0]); }, {pos});
  EXPECT_GRADCHECK([](In v) { return rsqrt(v[0]); }, {pos});
  EXPECT_GRADCHECK([](In v) { return tanh(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return sigmoid(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return relu(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return relu2(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return gelu(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return gelu_tanh(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return silu(v[0]); }, {x});
  // GELU and SiLU keep f'(x) from the forward when x fills its own buffer (above); on a view
  // into a larger one they keep x and differentiate in the backward.
  EXPECT_GRADCHECK([](In v) { return gelu(narrow(v[0], 1, 1, 3)); }, {x});
  EXPECT_GRADCHECK([](In v) { return gelu_tanh(narrow(v[0], 1, 1, 3)); }, {x});
  EXPECT_GRADCHECK([](In v) { return silu(narrow(v[0], 1, 1, 3)); }, {x});
  EXPECT_GRADCHECK([](In v) { return square(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return abs(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return softplus(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return log_sigmoid(v[0]); }, {x});
}

TEST(GradcheckOps, Reductions) {
  auto x = randn64({3, 4, 5}, 31);
  EXPECT_GRADCHECK([](In v) { return sum(v[0]); }, {x});
  EXPECT_GRADCHECK([](In v) { return mean(v[0]); }, {x});
  for (int64_t axis : {0, 1, 2, -1}) {
    EXPECT_GRADCHECK([axis](In v) { return sum(v[0], axis); }, {x});
    EXPECT_GRADCHECK([axis](In v) { return mean(v[0], axis, true); }, {x});
    EXPECT_GRADCHECK([axis](In v) { return max(v[0], axis); }, {x});
    EXPECT_GRADCHECK([axis](In v) { return logsumexp(v[0], axis, true); }, {x});
  }
}

TEST(GradcheckOps, Softmax) {
  auto x = randn64({2, 3, 6}, 41, 2.0);
  for (int64_t axis : {-1, 1, 0}) {
    EXPECT_GRADCHECK([axis](In v) { return softmax(v[0], axis); }, {x});
    EXPECT_GRADCHECK([axis](In v) { return log_softmax(v[0], axis); }, {x});
  }
}

TEST(GradcheckOps, MatmulPlainBatchedAndTransposedViews) {
  EXPECT_GRADCHECK([](In v) { return matmul(v[0], v[1]); }, {randn64({3, 4}, 51), randn64({4, 5}, 52)});
  EXPECT_GRADCHECK([](In v) { return matmul(v[0], v[1]); },
                   {randn64({2, 3, 4}, 53), randn64({2, 4, 5}, 54)});
  // A batch times a shared 2-D matrix (the Linear layer case).
  EXPECT_GRADCHECK([](In v) { return matmul(v[0], v[1]); },
                   {randn64({2, 3, 4}, 55), randn64({4, 5}, 56)});
  // Transposed views go to BLAS as flags: their gradients must still be right.
  EXPECT_GRADCHECK([](In v) { return matmul(transpose(v[0]), transpose(v[1])); },
                   {randn64({4, 3}, 57), randn64({5, 4}, 58)});
  // Size-1 dimensions.
  EXPECT_GRADCHECK([](In v) { return matmul(v[0], v[1]); }, {randn64({1, 4}, 59), randn64({4, 1}, 60)});
  // Non-contiguous rows (a narrowed view).
  EXPECT_GRADCHECK([](In v) { return matmul(narrow(v[0], 1, 1, 4), v[1]); },
                   {randn64({3, 6}, 61), randn64({4, 2}, 62)});
}

TEST(GradcheckOps, Views) {
  auto x = randn64({2, 3, 4}, 71);
  EXPECT_GRADCHECK([](In v) { return reshape(v[0], {6, -1}); }, {x});
  EXPECT_GRADCHECK([](In v) { return transpose(v[0], 0, 2); }, {x});
  EXPECT_GRADCHECK([](In v) { return permute(v[0], {2, 0, 1}); }, {x});
  EXPECT_GRADCHECK([](In v) { return narrow(v[0], 2, 1, 2); }, {x});
  EXPECT_GRADCHECK([](In v) { return unsqueeze(v[0], 1); }, {x});
  EXPECT_GRADCHECK([](In v) { return squeeze(unsqueeze(v[0], 0), 0); }, {x});
  EXPECT_GRADCHECK([](In v) { return expand(v[0], {2, 3, 4}); }, {randn64({3, 1}, 72)});
  EXPECT_GRADCHECK([](In v) { return contiguous(transpose(v[0], 0, 1)); }, {x});
  // reshape of a non-contiguous view copies; its gradient must still map back.
  EXPECT_GRADCHECK([](In v) { return reshape(transpose(v[0], 1, 2), {2, 12}); }, {x});
  EXPECT_GRADCHECK([](In v) { return concat({v[0], v[1]}, 1); }, {x, randn64({2, 2, 4}, 73)});
  EXPECT_GRADCHECK([](In v) {
    auto parts = split(v[0], {1, 3}, 2);
    return mul(parts[0], sum(parts[1], 2, true));
  }, {x});
  EXPECT_GRADCHECK([](In v) { return chunk(v[0], 2, 2)[1]; }, {x});
  // A tensor used twice accumulates both gradients.
  EXPECT_GRADCHECK([](In v) { return mul(v[0], transpose(v[0], 0, 1)); }, {randn64({3, 3}, 74)});
}

TEST(GradcheckOps, Indexing) {
  auto table = randn64({5, 3}, 81);
  auto ids = Tensor::from_vector(std::vector<int32_t>{4, 0, 4, 2, 1, 4}, {2, 3});
  EXPECT_GRADCHECK([](In v) { return index_select(v[0], v[1]); }, {table, ids});
  auto x = randn64({3, 4}, 82);
  auto idx = Tensor::from_vector(std::vector<int32_t>{1, 1, 3, 0, 2, 2}, {3, 2});
  EXPECT_GRADCHECK([](In v) { return gather(v[0], 1, v[1]); }, {x, idx});
  auto idx0 = Tensor::from_vector(std::vector<int32_t>{2, 0, 1, 2}, {1, 4});
  EXPECT_GRADCHECK([](In v) { return gather(v[0], 0, v[1]); }, {x, idx0});
  EXPECT_GRADCHECK([](In v) { return scatter_add(v[0], 1, v[1], v[2]); },
                   {x, idx, randn64({3, 2}, 83)});
  auto mask = Tensor::from_vector(std::vector<int32_t>{1, 0, 0, 1}, {4});
  EXPECT_GRADCHECK([](In v) { return masked_fill(v[0], v[1], -7.0); }, {x, mask});
  auto cond = Tensor::from_vector(std::vector<int32_t>{1, 0, 1}, {3, 1});
  EXPECT_GRADCHECK([](In v) { return where(v[0], v[1], v[2]); }, {cond, x, randn64({4}, 84)});
}

TEST(GradcheckOps, DropoutWithFixedMask) {
  // The mask is drawn from a fresh Rng each call, so every evaluation sees the same mask.
  EXPECT_GRADCHECK([](In v) {
    Rng rng(7);
    return dropout(v[0], 0.3, rng, true);
  }, {randn64({4, 6}, 91)});
}

TEST(GradcheckOps, CastBetweenFloatTypes) {
  EXPECT_GRADCHECK([](In v) { return cast(mul(cast(v[0], DType::F32), 2.0), DType::F64); },
                   {randn64({3}, 92)},
                   GradcheckOptions{.eps = 1e-3, .atol = 1e-5, .rtol = 1e-4});
}

TEST(GradcheckOps, CatchesAWrongGradient) {
  // A gradcheck that cannot fail proves nothing: a deliberately doubled gradient must fail.
  struct Doubled : autograd::Node {
    const char* name() const override { return "doubled"; }
    std::vector<Tensor> backward(const Tensor& g) override { return {mul(g, 2.0)}; }
  };
  auto r = gradcheck([](In v) {
    Tensor y = v[0].detach().clone();
    if (autograd::needs_grad(v[0])) autograd::record(std::make_shared<Doubled>(), y, {&v[0]});
    return y;
  }, {randn64({3}, 93)});
  EXPECT_FALSE(r.ok);
}

}  // namespace
}  // namespace tlm
