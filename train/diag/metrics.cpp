#include "train/diag/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace tlm::train {

TokenMetrics::TokenMetrics(int bins)
    : bins_(bins), bin_count_(bins, 0), bin_correct_(bins, 0), bin_conf_(bins, 0.0) {
  TLM_CHECK(bins >= 1, "TokenMetrics: bins = {} (allowed: >= 1)", bins);
}

void TokenMetrics::add_one(double confidence, bool correct, double nll) {
  TLM_CHECK(confidence >= 0 && confidence <= 1 + 1e-9,
            "TokenMetrics: confidence {} is not a probability", confidence);
  // bin b holds (b/M, (b+1)/M]; c = 0 goes to bin 0.
  int b = static_cast<int>(std::ceil(confidence * bins_)) - 1;
  b = std::clamp(b, 0, bins_ - 1);
  ++bin_count_[b];
  bin_correct_[b] += correct;
  bin_conf_[b] += confidence;
  ++count_;
  correct_ += correct;
  conf_sum_ += confidence;
  nll_sum_ += nll;
}

void TokenMetrics::add(const Tensor& log_probs, const Tensor& targets) {
  TLM_CHECK(log_probs.defined() && targets.defined() && log_probs.dim() == 2 &&
                targets.dim() == 1 && targets.size(0) == log_probs.size(0) &&
                targets.dtype() == DType::I32,
            "TokenMetrics: log_probs {} x targets {}: expected [N,V] floating and [N] int32",
            log_probs.defined() ? shape_str(log_probs.shape()) : "undefined",
            targets.defined() ? shape_str(targets.shape()) : "undefined");
  const int64_t N = log_probs.size(0), V = log_probs.size(1);
  const std::vector<double> lp = log_probs.to(DType::F64).contiguous().to_vector<double>();
  const std::vector<int32_t> y = targets.contiguous().to_vector<int32_t>();
  for (int64_t i = 0; i < N; ++i) {
    TLM_CHECK(y[i] >= 0 && y[i] < V, "TokenMetrics: target {} at row {} is outside [0, {})", y[i],
              i, V);
    const double* row = lp.data() + i * V;
    const int64_t arg = std::max_element(row, row + V) - row;  // first maximum
    add_one(std::exp(row[arg]), arg == y[i], -row[y[i]]);
  }
}

double TokenMetrics::nll() const { return count_ ? nll_sum_ / double(count_) : NAN; }
double TokenMetrics::accuracy() const { return count_ ? double(correct_) / double(count_) : NAN; }

double TokenMetrics::mean_confidence() const { return count_ ? conf_sum_ / double(count_) : NAN; }

std::vector<double> TokenMetrics::bin_confidence() const {
  std::vector<double> c(bins_, NAN);
  for (int b = 0; b < bins_; ++b)
    if (bin_count_[b] > 0) c[b] = bin_conf_[b] / double(bin_count_[b]);
  return c;
}

std::vector<double> TokenMetrics::bin_accuracy() const {
  std::vector<double> a(bins_, NAN);
  for (int b = 0; b < bins_; ++b)
    if (bin_count_[b] > 0) a[b] = double(bin_correct_[b]) / double(bin_count_[b]);
  return a;
}

double TokenMetrics::ece() const {
  if (count_ == 0) return NAN;
  double e = 0;
  for (int b = 0; b < bins_; ++b) {
    if (bin_count_[b] == 0) continue;
    const double n = double(bin_count_[b]);
    e += n / double(count_) * std::abs(double(bin_correct_[b]) / n - bin_conf_[b] / n);
  }
  return e;
}

namespace {
double f1(int64_t tp, int64_t fp, int64_t fn) {
  const int64_t d = 2 * tp + fp + fn;
  return d == 0 ? 1.0 : 2.0 * double(tp) / double(d);
}
}  // namespace

double MultiLabelCounts::micro_f1() const {
  return f1(std::accumulate(tp.begin(), tp.end(), int64_t{0}),
            std::accumulate(fp.begin(), fp.end(), int64_t{0}),
            std::accumulate(fn.begin(), fn.end(), int64_t{0}));
}

double MultiLabelCounts::macro_f1() const {
  if (tp.empty()) return NAN;
  double s = 0;
  for (size_t k = 0; k < tp.size(); ++k) s += f1(tp[k], fp[k], fn[k]);
  return s / double(tp.size());
}

MultiLabelCounts multilabel_counts(const Tensor& scores, const Tensor& labels, double threshold) {
  TLM_CHECK(scores.defined() && labels.defined() && scores.dim() == 2 &&
                scores.shape() == labels.shape() && labels.dtype() == DType::I32,
            "multilabel_counts: scores {} x labels {}: expected [N,K] floating and the same "
            "shape int32 0/1",
            scores.defined() ? shape_str(scores.shape()) : "undefined",
            labels.defined() ? shape_str(labels.shape()) : "undefined");
  const int64_t N = scores.size(0), K = scores.size(1);
  const std::vector<double> s = scores.to(DType::F64).contiguous().to_vector<double>();
  const std::vector<int32_t> y = labels.contiguous().to_vector<int32_t>();
  MultiLabelCounts c;
  c.tp.assign(K, 0), c.fp.assign(K, 0), c.fn.assign(K, 0);
  int64_t exact = 0;
  for (int64_t i = 0; i < N; ++i) {
    bool same = true;
    for (int64_t k = 0; k < K; ++k) {
      const int32_t t = y[i * K + k];
      TLM_CHECK(t == 0 || t == 1, "multilabel_counts: label {} at [{}, {}] is not 0 or 1", t, i, k);
      const bool p = s[i * K + k] > threshold;
      c.tp[k] += p && t;
      c.fp[k] += p && !t;
      c.fn[k] += !p && t;
      same = same && (p == bool(t));
    }
    exact += same;
  }
  c.exact_match = N ? double(exact) / double(N) : NAN;
  return c;
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  const size_t n = x.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) ++j;
    const double avg = 0.5 * double(i + j) + 1.0;  // positions i..j, 1-based
    for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  TLM_CHECK(x.size() == y.size() && !x.empty(), "pearson: sizes {} and {} (expected equal, > 0)",
            x.size(), y.size());
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  TLM_CHECK(x.size() == y.size() && !x.empty(), "spearman: sizes {} and {} (expected equal, > 0)",
            x.size(), y.size());
  return pearson(average_ranks(x), average_ranks(y));
}

}  // namespace tlm::train
