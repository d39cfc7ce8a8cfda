// Helpers shared by the loss tests (with tests/common/: float64 random inputs, EXPECT_GRADCHECK,
// EXPECT_TLM_ERROR): golden files
// written by tests/reference/losses_reference.py, and "every value/gradient is finite".
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/common/expect_error.h"  // EXPECT_TLM_ERROR
#include "tests/common/gradcheck.h"     // randn64, uniform64, In, EXPECT_GRADCHECK

namespace tlm::testing {

inline Tensor ids(const std::vector<int32_t>& v, const Shape& s) {
  return Tensor::from_vector(v, s);
}
inline Tensor ids(const std::vector<int32_t>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}
inline Tensor f64(const std::vector<double>& v, const Shape& s) {
  return Tensor::from_vector(v, s);
}
// Random class ids in [0, C) with the listed rows set to `ignore`.
inline Tensor random_targets(int64_t n, int64_t c, uint64_t seed,
                             const std::vector<int64_t>& ignored = {}, int32_t ignore = -100) {
  Rng rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = static_cast<int32_t>(rng.randint(c));
  for (int64_t i : ignored) t[i] = ignore;
  return Tensor::from_vector(t, {n});
}

inline bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}


// One golden file: case name -> key -> values.
using GoldenCase = std::map<std::string, std::vector<double>>;
inline std::map<std::string, GoldenCase> load_golden(const std::string& family) {
  std::string path =
      std::string(TLM_SOURCE_DIR) + "/tests/reference/golden/losses_" + family + ".txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing golden file " << path
                         << " (run /usr/bin/python3 tests/reference/losses_reference.py)";
  std::map<std::string, GoldenCase> out;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string key;
    ss >> key;
    if (key == "case") {
      ss >> current;
    } else if (key != "end") {
      size_t n = 0;
      ss >> n;
      std::vector<double> v(n);
      for (auto& x : v) {
        std::string tok;
        ss >> tok;
        x = std::stod(tok);
      }
      out[current][key] = v;
    }
  }
  return out;
}
inline Shape golden_shape(const std::vector<double>& v) {
  Shape s;
  for (double x : v) s.push_back(static_cast<int64_t>(x));
  return s;
}
inline Tensor golden_ids(const std::vector<double>& v, const Shape& s) {
  std::vector<int32_t> t;
  for (double x : v) t.push_back(static_cast<int32_t>(x));
  return Tensor::from_vector(t, s);
}
inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << what << " element " << i;
}

}  // namespace tlm::testing
