// CoSENT: a ranking loss on cosine similarities of sentence pairs.
//
//   Tensor c = nn::cosine_similarity(u /*[B,D]*/, v /*[B,D]*/);      // [B]
//   Tensor l = nn::cosent_loss(c, labels /*[B] graded, e.g. 0..5*/);  // lambda = 20
//
// Su, https://kexue.fm/archives/8847. For every pair of pairs (i,j), (k,l) in the batch whose
// labels say sim(i,j) > sim(k,l):
//   l = log(1 + sum_{sim(i,j) > sim(k,l)} e^{lambda (c_kl - c_ij)}),   lambda = 20
// Implementation: the matrix lambda (c_b - c_a) over all (a, b), kept where label_a > label_b
// (others skipped), one zero appended, LSE. Works for binary, NLI (entail > neutral >
// contradiction) and graded STS labels. A batch with no ordered pair gives log 1 = 0.
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

// cos [B] (floating), labels [B] (floating or int32; only their order matters).
Tensor cosent_loss(const Tensor& cos, const Tensor& labels, double lambda = 20.0);
// Row-wise cosine of u, v [B,D] -> [B] (norms clamped at 1e-12).
Tensor cosine_similarity(const Tensor& u, const Tensor& v);

}  // namespace tlm::nn
