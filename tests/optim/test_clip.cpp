#include <gtest/gtest.h>

#include <cmath>

#include "optim/clip.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {


Tensor param_with_grad(const std::vector<float>& grad, const Shape& shape) {
  Tensor p = Tensor::zeros(shape).set_requires_grad(true);
  p.set_grad(Tensor::from_vector(grad, shape));
  return p;
}

// Gradients (3, 4) and (12): global norm sqrt(9 + 16 + 144) = 13.
TEST(Clip, ScalesByMaxNormOverNorm) {
  Tensor a = param_with_grad({3, 4}, {2});
  Tensor b = param_with_grad({12}, {1, 1});
  Tensor no_grad = Tensor::zeros({3}).set_requires_grad(true);  // ignored
  EXPECT_DOUBLE_EQ(grad_norm({a, b, no_grad}), 13.0);
  const double norm = clip_grad_norm({a, b, no_grad}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 13.0);             // the norm before clipping
  const double coef = 1.0 / (13.0 + 1e-6);  // PyTorch's clip_coef
  auto ga = a.grad().to_vector<float>();
  EXPECT_FLOAT_EQ(ga[0], static_cast<float>(3 * coef));
  EXPECT_FLOAT_EQ(ga[1], static_cast<float>(4 * coef));
  EXPECT_FLOAT_EQ(b.grad().to_vector<float>()[0], static_cast<float>(12 * coef));
  EXPECT_NEAR(grad_norm({a, b}), 1.0, 1e-6);
  EXPECT_FALSE(no_grad.grad().defined());
}

TEST(Clip, BelowMaxNormLeavesGradientsUntouched) {
  Tensor a = param_with_grad({0.3f, -0.4f}, {2});
  const uint64_t version = a.grad().version();
  EXPECT_NEAR(clip_grad_norm({a}, 1.0), 0.5, 1e-7);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{0.3f, -0.4f}));
  EXPECT_EQ(a.grad().version(), version);  // not even multiplied by 1
  // At exactly max_norm PyTorch's +1e-6 makes the factor 1/(1 + 1e-6) < 1: scaled.
  Tensor b = param_with_grad({1.0f}, {1});
  EXPECT_DOUBLE_EQ(clip_grad_norm({b}, 1.0), 1.0);
  EXPECT_EQ(b.grad().to_vector<float>()[0], static_cast<float>(1.0 / (1.0 + 1e-6)));
}

TEST(Clip, Float64GradientsAndNoGradients) {
  Tensor p = Tensor::zeros({2}, DType::F64).set_requires_grad(true);
  p.set_grad(Tensor::from_vector(std::vector<double>{6, 8}, {2}));
  EXPECT_DOUBLE_EQ(clip_grad_norm({p}, 5.0), 10.0);
  auto g = p.grad().to_vector<double>();
  EXPECT_DOUBLE_EQ(g[0], 6 * 5.0 / (10.0 + 1e-6));
  EXPECT_DOUBLE_EQ(g[1], 8 * 5.0 / (10.0 + 1e-6));
  EXPECT_EQ(clip_grad_norm({}, 1.0), 0.0);
}

TEST(Clip, NonFiniteGradientsAreReportedNotScaled) {
  Tensor a = param_with_grad({1e3f, 2e3f}, {2});
  Tensor b = param_with_grad({NAN, 1.0f}, {2});
  EXPECT_TRUE(std::isnan(clip_grad_norm({a, b}, 1.0)));
  EXPECT_EQ(a.grad().to_vector<float>()[0], 1e3f);  // unchanged: the caller decides
  EXPECT_FALSE(grads_finite({a, b}));
  EXPECT_TRUE(grads_finite({a}));
  Tensor c = param_with_grad({INFINITY}, {1});
  EXPECT_TRUE(std::isinf(grad_norm({c})));
  EXPECT_FALSE(grads_finite({c}));
  check_grads_finite({{"a", a}});
  EXPECT_TLM_ERROR(check_grads_finite({{"a", a}, {"blocks.0.mlp.fc.weight", b}}), "blocks.0.mlp.fc.weight", "NaN or inf");
}

TEST(Clip, MaxNormMustBePositive) {
  Tensor a = param_with_grad({1}, {1});
  EXPECT_TLM_ERROR(clip_grad_norm({a}, 0.0), "max_norm");
  EXPECT_TLM_ERROR(clip_grad_norm({a}, NAN), "max_norm");
}

}  // namespace
}  // namespace tlm::optim
