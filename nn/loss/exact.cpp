#include "nn/loss/exact.h"

#include <cmath>
#include <numbers>

#include "autograd/ops/loss_special.h"

namespace tlm::nn {

// Newton iteration on the orthonormal Hermite recurrence (Golub-Welsch would need an
// eigensolver); the classic initial guesses for the largest roots, then symmetry.
GaussHermite gauss_hermite(int n) {
  TLM_CHECK(n >= 1 && n <= 200, "exact_loss: quadrature_points must be in [1, 200], got {}", n);
  GaussHermite gh;
  gh.nodes.assign(n, 0.0);
  gh.weights.assign(n, 0.0);
  const double pim4 = std::pow(std::numbers::pi, -0.25);
  const int m = (n + 1) / 2;
  double z = 0;
  for (int i = 0; i < m; ++i) {
    if (i == 0)
      z = std::sqrt(2.0 * n + 1) - 1.85575 * std::pow(2.0 * n + 1, -0.16667);
    else if (i == 1)
      z -= 1.14 * std::pow(static_cast<double>(n), 0.426) / z;
    else if (i == 2)
      z = 1.86 * z - 0.86 * gh.nodes[n - 1];
    else if (i == 3)
      z = 1.91 * z - 0.91 * gh.nodes[n - 2];
    else
      z = 2.0 * z - gh.nodes[n - i + 1];
    double pp = 0;
    for (int it = 0; it < 100; ++it) {
      double p1 = pim4, p2 = 0;
      for (int j = 0; j < n; ++j) {
        const double p3 = p2;
        p2 = p1;
        p1 = z * std::sqrt(2.0 / (j + 1)) * p2 - std::sqrt(static_cast<double>(j) / (j + 1)) * p3;
      }
      pp = std::sqrt(2.0 * n) * p2;
      const double z1 = z;
      z = z1 - p1 / pp;
      if (std::abs(z - z1) <= 1e-15 * std::max(1.0, std::abs(z))) break;
    }
    // nodes ascending: the i-th largest root goes to n-1-i, its mirror to i
    gh.nodes[n - 1 - i] = z;
    gh.nodes[i] = -z;
    gh.weights[n - 1 - i] = gh.weights[i] = 2.0 / (pp * pp);
  }
  if (n % 2 == 1) gh.nodes[n / 2] = 0;  // exact centre
  return gh;
}

Tensor exact_log_expected_accuracy(const Tensor& mu, const Tensor& targets, const Tensor& sigma,
                                   int quadrature_points, int32_t ignore_index) {
  detail::check_class_targets("exact_loss", mu, targets, ignore_index);
  const int64_t N = mu.shape()[0], C = mu.shape()[1];
  TLM_CHECK(sigma.defined() && is_floating(sigma.dtype()) &&
                (sigma.dim() == 0 || (sigma.dim() == 1 && sigma.shape()[0] == N)),
            "exact_loss: mu {} x sigma {}: sigma must be a 0-D tensor or one value per row [{}]",
            shape_str(mu.shape()), sigma.defined() ? shape_str(sigma.shape()) : "undefined", N);
  for (double s : sigma.to_vector<double>())
    TLM_CHECK(s > 0 && std::isfinite(s), "exact_loss: sigma must be positive, got {}", s);
  const GaussHermite gh = gauss_hermite(quadrature_points);
  const int64_t K = quadrature_points;
  const DType dt = mu.dtype();
  std::vector<double> nodes(K), logw(K);
  for (int64_t k = 0; k < K; ++k) {
    nodes[k] = std::sqrt(2.0) * gh.nodes[k];
    logw[k] = std::log(gh.weights[k]) - 0.5 * std::log(std::numbers::pi);
  }
  Tensor safe = detail::safe_targets(targets, ignore_index);
  Tensor mu_y = gather(mu, 1, reshape(safe, {N, 1}));  // [N,1]
  Tensor sig = sigma.dtype() == dt ? sigma : cast(sigma, dt);
  if (sig.dim() == 1) sig = reshape(sig, {N, 1});
  Tensor d = div(sub(mu_y, mu), sig);                                             // [N,C]
  Tensor a = add(unsqueeze(d, 2), Tensor::from_vector(nodes, {1, 1, K}).to(dt));  // [N,C,K]
  Tensor lphi = log_ndtr(a);
  // The target's own factor is left out (set to log 1 = 0) by selection, not multiplication.
  std::vector<int32_t> sv = safe.to_vector<int32_t>();
  std::vector<int32_t> oh(N * C, 0);
  for (int64_t i = 0; i < N; ++i) oh[i * C + sv[i]] = 1;
  lphi = where(Tensor::from_vector(oh, {N, C, 1}), Tensor::zeros({}, dt), lphi);
  Tensor per_node = add(sum(lphi, 1), Tensor::from_vector(logw, {1, K}).to(dt));  // [N,K]
  return logsumexp(per_node, 1);                                                  // [N]
}

Tensor exact_loss(const Tensor& mu, const Tensor& targets, const Tensor& sigma,
                  const ExactOptions& options) {
  Tensor logp = exact_log_expected_accuracy(mu, targets, sigma, options.quadrature_points,
                                            options.ignore_index);
  Tensor per_row =
      options.objective == ExactObjective::kNegExpectedAccuracy ? neg(exp(logp)) : neg(logp);
  return detail::masked_mean(per_row,
                             detail::valid_mask(targets, options.ignore_index, mu.dtype()));
}

Tensor exact_loss(const Tensor& mu, const Tensor& targets, double sigma,
                  const ExactOptions& options) {
  return exact_loss(mu, targets, Tensor::scalar(sigma, mu.defined() ? mu.dtype() : DType::F32),
                    options);
}

}  // namespace tlm::nn
