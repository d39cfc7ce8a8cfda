// Float64 gradient checks for every test binary: seeded random float64 inputs and
// EXPECT_GRADCHECK, which compares an op's analytic gradients with central differences
// (autograd/gradcheck.h; default atol 1e-7, rtol 1e-5, eps 1e-6).
//
//   using namespace tlm::testing;
//   EXPECT_GRADCHECK([](In v) { return mul(v[0], v[1]); }, {randn64({3, 4}, 1), randn64({4}, 2)});
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "autograd/gradcheck.h"
#include "tensor/tensor.h"

namespace tlm::testing {

// N(0, std^2) entries from Rng(seed), float64.
inline Tensor randn64(const Shape& s, uint64_t seed, double std = 1.0) {
  Rng rng(seed);
  return Tensor::randn(s, rng, std, DType::F64);
}
// Entries uniform in [lo, hi) from Rng(seed), float64 (ops defined on a range: log, sqrt).
inline Tensor uniform64(const Shape& s, uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  return Tensor::uniform(s, rng, lo, hi, DType::F64);
}

// The inputs of a checked function.
using In = const std::vector<Tensor>&;

}  // namespace tlm::testing

#define EXPECT_GRADCHECK(fn, ...)                \
  do {                                           \
    auto r_ = ::tlm::gradcheck(fn, __VA_ARGS__); \
    EXPECT_TRUE(r_.ok) << r_.message;            \
  } while (0)
