// Tensor basics: factories, views, copies, dtype conversion, printing, and the errors that
// bad input must produce.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"
#include "tensor/kernels/copy.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

namespace tlm {
namespace {


TEST(Tensor, FactoriesShapeAndValues) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::F32);
  EXPECT_TRUE(z.is_contiguous());
  for (float v : z.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  Tensor f = Tensor::full({4}, 2.5, DType::F64);
  for (double v : f.to_vector<double>()) EXPECT_EQ(v, 2.5);
  Tensor a = Tensor::arange(5, DType::I32);
  EXPECT_EQ(a.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Tensor::scalar(3.0).item(), 3.0);
  EXPECT_EQ(Tensor::scalar(3.0).dim(), 0);
}

TEST(Tensor, RandnIsSeededAndHasTheRequestedMoments) {
  Rng r1(42), r2(42);
  Tensor a = Tensor::randn({100000}, r1, 0.02);
  Tensor b = Tensor::randn({100000}, r2, 0.02);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  double mean = 0, sq = 0;
  for (float v : a.to_vector<float>()) {
    mean += v;
    sq += double(v) * v;
  }
  mean /= a.numel();
  double std = std::sqrt(sq / a.numel() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 5e-4);
  EXPECT_NEAR(std, 0.02, 5e-4);
}

TEST(Tensor, ViewsShareStorageAndCopiesDoNot) {
  Tensor x = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = views::transpose(x, 0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(t.same_storage(x));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor n = views::narrow(x, 1, 1, 2);
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{1, 2, 4, 5}));
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.same_storage(x));
  Tensor p = views::permute(Tensor::zeros({2, 3, 4}), {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  Tensor e = views::expand(Tensor::from_vector(std::vector<float>{1, 2}, {2, 1}), {2, 3});
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

TEST(Tensor, InPlaceWritesBumpTheVersionSeenByViews) {
  Tensor x = Tensor::zeros({4});
  Tensor v = views::narrow(x, 0, 1, 2);
  uint64_t before = v.version();
  x.fill_(1.0);
  EXPECT_GT(v.version(), before);
}

TEST(Tensor, DtypeConversionRoundTrips) {
  Tensor x = Tensor::from_vector(std::vector<float>{1.5f, -2.25f, 3.0f}, {3});
  Tensor d = x.to(DType::F64);
  EXPECT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.to(DType::F32).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(x.to(DType::I32).to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 3}));
}

TEST(Tensor, FmtPrintsDtypeShapeAndSummary) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  std::string s = fmt::format("{}", x);
  EXPECT_NE(s.find("float32[2,2]"), std::string::npos) << s;
  EXPECT_NE(s.find("max 4"), std::string::npos) << s;
  EXPECT_NE(s.find("mean 2.5"), std::string::npos) << s;
}

TEST(TensorErrors, BadShapesAndAxesNameTheProblem) {
  EXPECT_TLM_ERROR(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                        "3 values do not fill shape [2,2]");
  EXPECT_TLM_ERROR(Tensor::zeros({2, -1}), "negative dimension");
  EXPECT_TLM_ERROR(views::transpose(Tensor::zeros({2, 3}), 0, 2),
                        "transpose: axis 2 is out of range for a 2-D tensor");
  EXPECT_TLM_ERROR(views::narrow(Tensor::zeros({2, 3}), 1, 2, 2),
                        "narrow: [2, 4) is out of range for axis 1 of size 3");
  EXPECT_TLM_ERROR(broadcast_shapes({4, 3}, {2, 3}, "add"),
                        "add: shapes [4,3] and [2,3] cannot be broadcast");
  EXPECT_TLM_ERROR(Tensor::zeros({2, 2}).item(), "item: expected a tensor with one element");
  EXPECT_TLM_ERROR(Tensor::zeros({2}).data<double>(), "data<float64>() on a float32");
  EXPECT_TLM_ERROR(views::permute(Tensor::zeros({2, 3}), {0, 0}), "permute: axis 0 appears twice");
  // The message carries the source location of the check.
  EXPECT_TLM_ERROR(Tensor::zeros({-3}), "tensor/tensor.cpp:");
}

}  // namespace
}  // namespace tlm

namespace tlm {
namespace {

TEST(Allocator, SteadyStateReusesBlocksAndCountsPeak) {
  { Tensor warm = Tensor::empty({1 << 20}); }  // a block of this class now sits in the cache
  const auto s0 = memory_stats();
  for (int i = 0; i < 10; ++i) {
    Tensor a = Tensor::empty({1 << 20});
    a.fill_(1.0);
  }
  const auto s1 = memory_stats();
  EXPECT_EQ(s1.system_allocations, s0.system_allocations);  // served from the cache
  EXPECT_EQ(s1.allocations, s0.allocations + 10);
  reset_peak_memory();
  const int64_t base = memory_stats().current_bytes;
  {
    Tensor a = Tensor::empty({1000});
    Tensor b = Tensor::empty({2000});
    EXPECT_EQ(memory_stats().current_bytes - base, 12000);
  }
  EXPECT_EQ(memory_stats().peak_bytes - base, 12000);
  EXPECT_EQ(memory_stats().current_bytes, base);
}

}  // namespace
}  // namespace tlm
