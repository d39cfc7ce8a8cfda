// gradcheck: compares an op's backward with central finite differences, in float64.
//
//   auto r = gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]) * in[1]; },
//                      {Tensor::randn({3, 4}, rng, 1, DType::F64),
//                       Tensor::randn({4}, rng, 1, DType::F64)});
//   EXPECT_TRUE(r.ok) << r.message;
//
// The output is contracted with a fixed random tensor W, L = sum(f(x) * W), so every output
// element and every input element is tested, and a transposed or doubled gradient fails.
// Every floating input is checked; int32 inputs (ids, labels) are passed through.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tlm {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-7;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  uint64_t seed = 12345;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatches, naming input, element, both values
  double max_abs_error = 0;
};

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace tlm
