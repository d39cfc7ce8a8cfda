// Helpers shared by the loss tests: float64 random inputs, EXPECT_GRADCHECK, golden files
// written by tests/reference/losses_reference.py, and "every value/gradient is finite".
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace tlm::testing {

inline Tensor randn64(const Shape& s, uint64_t seed, double std = 1.0) {
  Rng rng(seed);
  return Tensor::randn(s, rng, std, DType::F64);
}
inline Tensor uniform64(const Shape& s, uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  return Tensor::uniform(s, rng, lo, hi, DType::F64);
}
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

#define EXPECT_GRADCHECK(fn, ...)                \
  do {                                           \
    auto r_ = ::tlm::gradcheck(fn, __VA_ARGS__); \
    EXPECT_TRUE(r_.ok) << r_.message;            \
  } while (0)

// Expects `stmt` to throw tlm::Error whose message contains every string in `parts`.
#define EXPECT_TLM_ERROR(stmt, ...)                                       \
  do {                                                                    \
    try {                                                                 \
      stmt;                                                               \
      ADD_FAILURE() << "expected tlm::Error from " #stmt;                 \
    } catch (const ::tlm::Error& e_) {                                    \
      for (const std::string& p_ : std::vector<std::string>{__VA_ARGS__}) \
        EXPECT_NE(std::string(e_.what()).find(p_), std::string::npos)     \
            << "message \"" << e_.what() << "\" lacks \"" << p_ << "\"";  \
    }                                                                     \
  } while (0)

using In = const std::vector<Tensor>&;

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
