// Weighted sigmoid BCE and squared error: closed forms by hand and float64 gradchecks.
#include "nn/loss/pointwise.h"
#include "tests/nn/loss/loss_test_util.h"

namespace tlm::nn {
namespace {

using namespace tlm::testing;

TEST(Pointwise, WeightedBceByHand) {
  // s = [[0, 2], [-1, 3]], y = [[1, 0], [0, 1]], w = [3, 0.5]:
  //   3 log 2 + log(1 + e^2) + log(1 + e^-1) + 0.5 log(1 + e^-3), mean over 4 entries.
  Tensor s = f64({0, 2, -1, 3}, {2, 2});
  Tensor y = ids({1, 0, 0, 1}, {2, 2});
  Tensor w = f64({3, 0.5}, {2});
  auto sp = [](double x) { return std::log1p(std::exp(x)); };
  const double want = (3 * sp(0) + sp(2) + sp(-1) + 0.5 * sp(-3)) / 4;
  EXPECT_NEAR(weighted_bce_loss(s, y, w).item(), want, 1e-12);
  const double plain = (sp(0) + sp(2) + sp(-1) + sp(-3)) / 4;
  EXPECT_NEAR(weighted_bce_loss(s, y).item(), plain, 1e-12);
  EXPECT_NEAR(weighted_bce_loss(s, y, f64({1, 1}, {2})).item(), plain, 1e-12);
  EXPECT_THROW(weighted_bce_loss(s, y, f64({1, 1, 1}, {3})), Error);
  EXPECT_THROW(weighted_bce_loss(s, ids({1, 0, 2, 1}, {2, 2})), Error);
  EXPECT_THROW(weighted_bce_loss(s, ids({1, 0}, {1, 2})), Error);
}

TEST(Pointwise, WeightedBceGradcheck) {
  Tensor y = ids({1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0}, {3, 4});
  Tensor w = f64({9, 0.3, 2, 1}, {4});
  EXPECT_GRADCHECK([&](In v) { return weighted_bce_loss(v[0], y, w); }, {randn64({3, 4}, 1, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return weighted_bce_loss(v[0], y); }, {randn64({3, 4}, 2, 2.0)});
  EXPECT_GRADCHECK([&](In v) { return weighted_bce_loss(v[0], ids({1}, {1, 1}), f64({5}, {1})); },
                   {randn64({1, 1}, 3)});
}

TEST(Pointwise, MseByHandAndGradcheck) {
  EXPECT_NEAR(mse_loss(f64({1, 2, 3}, {3}), f64({0, 2, 5}, {3})).item(), (1.0 + 0 + 4) / 3, 1e-12);
  EXPECT_GRADCHECK([&](In v) { return mse_loss(v[0], v[1]); },
                   {randn64({5}, 4, 3.0), randn64({5}, 5, 3.0)});
  EXPECT_GRADCHECK([&](In v) { return mse_loss(v[0], v[1]); }, {randn64({2, 3}, 6), randn64({2, 3}, 7)});
  EXPECT_THROW(mse_loss(f64({1, 2}, {2}), f64({1, 2, 3}, {3})), Error);
}

}  // namespace
}  // namespace tlm::nn
