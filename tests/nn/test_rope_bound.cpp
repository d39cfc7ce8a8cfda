// The RoPE base lower bound reproduces the tables of docs/methods.md, "RoPE base bound" (Su's
// coarse-to-fine scan).
#include <gtest/gtest.h>

#include <cmath>

#include "nn/rope_bound.h"
#include "tensor/error.h"

namespace tlm {
namespace {

// Three significant figures, as the tables print them.
void expect_bound(int64_t L, int64_t h, double table) {
  const double b = nn::rope_base_lower_bound(L, h);
  EXPECT_NEAR(b, table, 0.005 * table) << "h=" << h << " L=" << L << ": " << b;
  // It is a valid base and (a coarse check of minimality) 1% below it is not.
  EXPECT_EQ(nn::rope_first_negative(b, h, L), -1);
  EXPECT_GE(nn::rope_first_negative(0.99 * b, h, L), 0);
}

TEST(RopeBound, ReproducesTheH64Row) {
  expect_bound(64, 64, 156);
  expect_bound(128, 64, 463);
  expect_bound(256, 64, 1.41e3);
}

TEST(RopeBound, ReproducesOtherHeadSizes) {
  expect_bound(64, 32, 315);
  expect_bound(128, 128, 311);
  expect_bound(1024, 128, 4.29e3);
}

TEST(RopeBound, ContextLimitOfAGivenBase) {
  // docs/methods.md: h=64: 100 -> 46, 300 -> 102, 1e3 -> 197, 1e4 -> 725.
  EXPECT_EQ(nn::rope_context_limit(100, 64), 46);
  EXPECT_EQ(nn::rope_context_limit(300, 64), 102);
  EXPECT_EQ(nn::rope_context_limit(1e3, 64), 197);
  EXPECT_EQ(nn::rope_context_limit(1e4, 64), 725);
  EXPECT_DOUBLE_EQ(nn::rope_cos_sum(0, 1e4, 64), 32.0);
  EXPECT_THROW(nn::rope_base_lower_bound(64, 7), Error);
}

}  // namespace
}  // namespace tlm
