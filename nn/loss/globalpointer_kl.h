// The symmetric sigmoid "KL divergence" between two sets of multi-label scores
// (GlobalPointer / ZLPR logits), for R-Drop and virtual adversarial training.
//
//   Tensor d = nn::globalpointer_kl(s /*[N,...]*/, t /*same*/, mask);
//   Tensor l = nn::globalpointer_rdrop_loss(s, t, labels, 1.0, mask);  // ZLPR(s)+ZLPR(t)+a*D
//
// Su, https://kexue.fm/archives/9039. The symmetric KL of two softmaxes equals
// sum_i (p_i - q_i)(s_i - t_i); for unnormalised multi-label scores replace softmax by sigmoid:
//   D(s, t) = sum_i (sigma(s_i) - sigma(t_i)) (s_i - t_i)
// = the sum of per-entry binary symmetric KLs. Summed over each row's entries, mean over rows
// with a kept entry. Masked entries are replaced by 0 in *both* inputs before the formula
// (selected, not multiplied), so -inf / -1e12 scores there give exactly 0 and no NaN.
// Both inputs receive gradients (R-Drop: two dropout passes).
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

Tensor globalpointer_kl(const Tensor& s, const Tensor& t, const Tensor& mask = Tensor());
// zlpr(s) + zlpr(t) + alpha * D(s, t)  (alpha: no published default).
Tensor globalpointer_rdrop_loss(const Tensor& s, const Tensor& t, const Tensor& labels,
                                double alpha, const Tensor& mask = Tensor());

}  // namespace tlm::nn
