#include "nn/rope_bound.h"

#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace tlm::nn {

namespace {

std::vector<double> thetas(double base, int64_t h) {
  std::vector<double> t(static_cast<size_t>(h / 2));
  for (int64_t i = 0; i < h / 2; ++i)
    t[static_cast<size_t>(i)] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(h));
  return t;
}

double cos_sum(int64_t m, const std::vector<double>& th) {
  double s = 0;
  for (double t : th) s += std::cos(static_cast<double>(m) * t);
  return s;
}

void check_args(int64_t h, const char* what) {
  TLM_CHECK(h >= 2 && h % 2 == 0, "{}: head_size must be even and >= 2, got {}", what, h);
}

}  // namespace

double rope_cos_sum(int64_t m, double base, int64_t head_size) {
  check_args(head_size, "rope_cos_sum");
  return cos_sum(m, thetas(base, head_size));
}

int64_t rope_first_negative(double base, int64_t head_size, int64_t limit) {
  check_args(head_size, "rope_first_negative");
  const std::vector<double> th = thetas(base, head_size);
  for (int64_t m = 0; m < limit; ++m)
    if (cos_sum(m, th) < 0) return m;
  return -1;
}

int64_t rope_context_limit(double base, int64_t head_size, int64_t max_context) {
  const int64_t m = rope_first_negative(base, head_size, max_context);
  return m < 0 ? max_context : m;
}

double rope_base_lower_bound(int64_t context, int64_t head_size) {
  check_args(head_size, "rope_base_lower_bound");
  TLM_CHECK(context >= 1, "rope_base_lower_bound: context must be >= 1, got {}", context);
  double B = 1000.0 * static_cast<double>(context);
  int64_t hint = 0;  // the last failing m: candidates usually fail there too (a quick reject)
  for (int k = 1; k <= 5; ++k) {
    const int64_t n = static_cast<int64_t>(std::llround(std::pow(10.0, k)));
    const double step = B / static_cast<double>(n - 1);  // n points of [0, B], ends included
    for (int64_t j = 1; j < n; ++j) {                   // j = 0 is b = 0: not a base
      const double b = step * static_cast<double>(j);
      const std::vector<double> th = thetas(b, head_size);
      if (hint > 0 && hint < context && cos_sum(hint, th) < 0) continue;
      const int64_t fail = rope_first_negative(b, head_size, context);
      if (fail < 0) {
        B = b;
        break;
      }
      hint = fail;
    }
  }
  return B;
}

}  // namespace tlm::nn
