#include "nn/attention_probe.h"

#include <cmath>

namespace tlm::nn {

void AttentionProbe::record(const Tensor& att) {
  TLM_CHECK(att.dim() == 4, "AttentionProbe: probabilities {} must be [B,H,T,Tk]",
            shape_str(att.shape()));
  const int64_t B = att.shape()[0], H = att.shape()[1], T = att.shape()[2], Tk = att.shape()[3];
  if (static_cast<int64_t>(sum_all.size()) != H) {
    TLM_CHECK(sum_all.empty(), "AttentionProbe: {} heads after {} (reset() between models)", H,
              sum_all.size());
    sum_all.assign(H, 0.0);
    sum_last.assign(H, 0.0);
  }
  const std::vector<double> a = att.to_vector<double>();  // row-major [B,H,T,Tk]
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const double* row = a.data() + ((b * H + h) * T + t) * Tk;
        double e = 0;
        for (int64_t j = 0; j < Tk; ++j)
          if (row[j] > 0) e -= row[j] * std::log(row[j]);  // 0 log 0 = 0
        sum_all[h] += e;
        if (t == T - 1) sum_last[h] += e;
      }
  rows += B * T;
  batches += B;
}

double AttentionProbe::mean_all(int64_t head) const {
  return rows > 0 ? sum_all.at(head) / static_cast<double>(rows) : NAN;
}

double AttentionProbe::mean_last(int64_t head) const {
  return batches > 0 ? sum_last.at(head) / static_cast<double>(batches) : NAN;
}

}  // namespace tlm::nn
