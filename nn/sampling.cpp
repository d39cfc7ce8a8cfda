#include "nn/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"
#include "tensor/view.h"

namespace tlm::nn {

int32_t sample_logits(const std::vector<double>& logits, double temperature, int64_t top_k,
                      double top_p, Rng& rng) {
  TLM_CHECK(!logits.empty(), "sample_logits: empty logits");
  TLM_CHECK(temperature >= 0, "sample_logits: temperature must be >= 0, got {}", temperature);
  TLM_CHECK(top_k >= 0, "sample_logits: top_k must be >= 0 (0 = off), got {}", top_k);
  TLM_CHECK(top_p > 0 && top_p <= 1, "sample_logits: top_p must be in (0, 1], got {}", top_p);
  const int64_t V = static_cast<int64_t>(logits.size());
  for (double l : logits)
    TLM_CHECK(!std::isnan(l), "sample_logits: NaN in the logits (the model diverged)");
  if (temperature == 0) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Token ids by decreasing logit (stable: ties keep the lower id first).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  int64_t keep = top_k > 0 ? std::min(top_k, V) : V;
  // Softmax over the kept tokens at this temperature, max subtracted.
  std::vector<double> p(static_cast<size_t>(keep));
  const double m = logits[order[0]] / temperature;
  double sum = 0;
  for (int64_t i = 0; i < keep; ++i) sum += p[i] = std::exp(logits[order[i]] / temperature - m);
  for (double& v : p) v /= sum;
  if (top_p < 1) {
    double cum = 0;
    int64_t n = 0;
    while (n < keep && cum < top_p) cum += p[n++];
    keep = std::max<int64_t>(n, 1);
    sum = std::accumulate(p.begin(), p.begin() + keep, 0.0);
    for (int64_t i = 0; i < keep; ++i) p[i] /= sum;
  }
  double u = rng.uniform(), cum = 0;
  for (int64_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (u < cum) return order[i];
  }
  return order[keep - 1];  // u within rounding of 1
}

void append_sampled_tokens(const Tensor& logits, std::vector<std::vector<int32_t>>& seqs,
                           double temperature, int64_t top_k, double top_p, Rng& rng) {
  const int64_t B = logits.shape()[0], V = logits.shape()[2];
  TLM_CHECK(static_cast<int64_t>(seqs.size()) == B, "generate: {} sequences for {} rows of logits",
            seqs.size(), B);
  Tensor last = views::narrow(logits, 1, logits.shape()[1] - 1, 1).to(DType::F64).contiguous();
  const double* lp = last.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> row(lp + b * V, lp + (b + 1) * V);
    seqs[static_cast<size_t>(b)].push_back(sample_logits(row, temperature, top_k, top_p, rng));
  }
}

}  // namespace tlm::nn
