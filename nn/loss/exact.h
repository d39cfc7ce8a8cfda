// EXACT: the expected-accuracy loss, as a 1-D Gauss-Hermite integral in log space.
//
//   Tensor l = nn::exact_loss(mu /*[N,C]*/, targets /*[N] int32*/, 1.0);   // -E[accuracy]
//
// EXACT (Karpukhin et al., arXiv:2205.09615; Su, https://kexue.fm/archives/9098): scores are
// stochastic, s ~ N(mu, sigma^2 I), and the loss is minus the probability that the target wins,
//   p(y|x) = P(y = argmax_i (mu_i/sigma + eps_i)).
// Conditioning on eps_y = z (the eps_i are i.i.d.) turns the (C-1)-dim orthant integral into
//   p(y|x) = int phi(z) prod_{i != y} Phi((mu_y - mu_i)/sigma + z) dz
//          ~ sum_k (w_k/sqrt(pi)) prod_{i != y} Phi(d_i + sqrt(2) x_k)   (Gauss-Hermite nodes x_k)
// evaluated as log p = LSE_k [log(w_k/sqrt(pi)) + sum_{i != y} log Phi(d_i + sqrt(2) x_k)], so
// nothing underflows when some Phi terms are 1e-300 (logits at +-1e4 are fine).
// Objective: -p (the paper's main loss, default) or -log p (also tried in the paper; Su found it
// worse on NLP). Mean over non-ignored rows. The paper's margin, variance schedule and gradient
// normalisation are not part of this loss (their values are unverified).
// Cost: O(N C K) memory and time (K = quadrature points); meant for classification heads.
#pragma once

#include <vector>

#include "nn/loss/common.h"

namespace tlm::nn {

enum class ExactObjective { kNegExpectedAccuracy, kNegLogExpectedAccuracy };

struct ExactOptions {
  int quadrature_points = 32;  // Gauss-Hermite points (32-64 are typical)
  ExactObjective objective = ExactObjective::kNegExpectedAccuracy;
  int32_t ignore_index = kIgnoreIndex;
};

// sigma: a 0-D tensor or one per row [N] (e.g. a scalar network's output); differentiable.
Tensor exact_loss(const Tensor& mu, const Tensor& targets, const Tensor& sigma,
                  const ExactOptions& options = {});
Tensor exact_loss(const Tensor& mu, const Tensor& targets, double sigma,
                  const ExactOptions& options = {});
// log p(y|x) per row [N] (the expected accuracy, in log space); ignored rows are evaluated
// for class 0 and dropped by the losses above.
Tensor exact_log_expected_accuracy(const Tensor& mu, const Tensor& targets, const Tensor& sigma,
                                   int quadrature_points = 32, int32_t ignore_index = kIgnoreIndex);

// Physicists' Gauss-Hermite rule: int e^{-x^2} f(x) dx ~ sum_k w_k f(x_k). Nodes ascending.
struct GaussHermite {
  std::vector<double> nodes, weights;
};
GaussHermite gauss_hermite(int n);

}  // namespace tlm::nn
