#include "train/diag/embedding_drift.h"

#include <fmt/format.h>

#include <cmath>

namespace tlm::train::diag {

// Per row i of W [V,C]: mean_j |w_ij|, max_j |w_ij|, sqrt(mean_j w_ij²), λ·mean|w| and the
// coefficient of variation of |w_ij| over j (see the header for why these show Lion's drift).
std::vector<EmbeddingRow> embedding_drift(const Tensor& wte, const std::vector<int64_t>& counts,
                                          double weight_decay) {
  TLM_CHECK(wte.dim() == 2, "diag embedding: the embedding must be [V,C], got {}",
            shape_str(wte.shape()));
  const int64_t V = wte.size(0), C = wte.size(1);
  TLM_CHECK(static_cast<int64_t>(counts.size()) == V,
            "diag embedding: {} token counts for an embedding of {} rows ({})", counts.size(), V,
            shape_str(wte.shape()));
  TLM_CHECK(std::isfinite(weight_decay) && weight_decay >= 0,
            "diag embedding: weight_decay = {} (allowed: finite, >= 0)", weight_decay);
  const std::vector<double> w = wte.to_vector<double>();
  std::vector<EmbeddingRow> rows;
  rows.reserve(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) {
    EmbeddingRow r;
    r.token = i;
    r.count = counts[static_cast<size_t>(i)];
    double sum_abs = 0, sum_sq = 0;
    for (int64_t j = 0; j < C; ++j) {
      const double a = std::abs(w[static_cast<size_t>(i * C + j)]);
      sum_abs += a;
      sum_sq += a * a;
      r.max_abs = std::max(r.max_abs, a);
    }
    r.mean_abs = C > 0 ? sum_abs / static_cast<double>(C) : 0;
    r.rms = C > 0 ? std::sqrt(sum_sq / static_cast<double>(C)) : 0;
    r.frac_fixed = r.mean_abs * weight_decay;
    // std of |w| = sqrt(E w² − (E|w|)²), clamped at 0 against rounding
    const double var = std::max(0.0, r.rms * r.rms - r.mean_abs * r.mean_abs);
    r.abs_cv = r.mean_abs > 0 ? std::sqrt(var) / r.mean_abs : 0;
    rows.push_back(r);
  }
  return rows;
}

Table embedding_drift_table(const std::vector<EmbeddingRow>& rows,
                            const std::vector<std::string>& token_text) {
  auto num = [](double v) { return fmt::format("{:.17g}", v); };
  Table t{{"token", "text", "count", "mean_abs", "max_abs", "rms", "frac_fixed", "abs_cv"}, {}};
  for (const auto& r : rows)
    t.rows.push_back({std::to_string(r.token),
                      token_cell(r.token < static_cast<int64_t>(token_text.size())
                                     ? token_text[static_cast<size_t>(r.token)]
                                     : ""),
                      std::to_string(r.count), num(r.mean_abs), num(r.max_abs), num(r.rms),
                      num(r.frac_fixed), num(r.abs_cv)});
  return t;
}

}  // namespace tlm::train::diag
