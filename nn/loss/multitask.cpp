#include "nn/loss/multitask.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/kernels/elementwise.h"

namespace tlm::nn {
namespace {

// The task losses as one [n] tensor (each must be a one-element tensor of the same dtype).
Tensor stack_losses(const char* scheme, const std::vector<Tensor>& losses) {
  TLM_CHECK(!losses.empty(), "{}: no task losses given", scheme);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < losses.size(); ++i) {
    TLM_CHECK(losses[i].defined() && losses[i].numel() == 1 && is_floating(losses[i].dtype()) &&
                  losses[i].dtype() == losses[0].dtype(),
              "{}: task loss {} is {}; expected one-element floating losses of one dtype ({})",
              scheme, i, losses[i].defined() ? losses[i].str() : "undefined", losses[0].str());
    parts.push_back(reshape(losses[i], {1}));
  }
  return concat(parts, 0);
}

Tensor from_doubles(const std::vector<double>& v, DType dt) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).to(dt);
}

double dot(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  NoGradGuard no_grad;
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k)
    s += sum(mul(a[k].to(DType::F64), b[k].to(DType::F64))).item();
  return s;
}

void check_task_grads(const char* scheme, const TaskGradients& g) {
  TLM_CHECK(!g.empty(), "{}: no task gradients given", scheme);
  for (size_t i = 0; i < g.size(); ++i) {
    TLM_CHECK(g[i].size() == g[0].size(), "{}: task {} has {} gradient tensors, task 0 has {}",
              scheme, i, g[i].size(), g[0].size());
    for (size_t k = 0; k < g[i].size(); ++k)
      TLM_CHECK(g[i][k].defined() && g[i][k].shape() == g[0][k].shape(),
                "{}: gradient {} of task {} is {}, task 0 has {}", scheme, k, i,
                g[i][k].defined() ? shape_str(g[i][k].shape()) : "undefined",
                shape_str(g[0][k].shape()));
  }
}

void check_gram(const char* scheme, const Gram& G) {
  TLM_CHECK(!G.empty(), "{}: empty Gram matrix", scheme);
  for (const auto& row : G)
    TLM_CHECK(row.size() == G.size(), "{}: Gram matrix is not square ({} x {})", scheme, G.size(),
              row.size());
}

std::vector<double> mat_vec(const Gram& G, const std::vector<double>& x) {
  std::vector<double> y(G.size(), 0.0);
  for (size_t i = 0; i < G.size(); ++i)
    for (size_t j = 0; j < G.size(); ++j) y[i] += G[i][j] * x[j];
  return y;
}

double max_diag(const Gram& G) {
  double m = 0;
  for (size_t i = 0; i < G.size(); ++i) m = std::max(m, G[i][i]);
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Loss space
// ---------------------------------------------------------------------------------------
Tensor weighted_sum(const std::vector<Tensor>& losses, const std::vector<double>& weights) {
  Tensor l = stack_losses("weighted_sum", losses);
  TLM_CHECK(weights.size() == losses.size(), "weighted_sum: {} weights for {} task losses",
            weights.size(), losses.size());
  return sum(mul(l, from_doubles(weights, l.dtype())));
}

Tensor equal_weighted(const std::vector<Tensor>& losses) {
  return mean(stack_losses("equal_weighted", losses));
}

Tensor normalized_sum(const std::vector<Tensor>& losses, const std::vector<double>& scales) {
  TLM_CHECK(scales.size() == losses.size(), "normalized_sum: {} scales for {} task losses",
            scales.size(), losses.size());
  std::vector<double> w(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    TLM_CHECK(scales[i] > 0 && std::isfinite(scales[i]),
              "normalized_sum: scale of task {} must be positive, got {}", i, scales[i]);
    w[i] = 1.0 / scales[i];
  }
  return weighted_sum(losses, w);
}

Tensor realtime_normalized(const std::vector<Tensor>& losses) {
  Tensor l = stack_losses("realtime_normalized", losses);
  Tensor denom = stop_gradient(l);
  for (double v : denom.to_vector<double>())
    TLM_CHECK(v != 0 && std::isfinite(v),
              "realtime_normalized: a task loss is {}; L/sg(L) needs "
              "finite nonzero losses",
              v);
  return sum(div(l, denom));
}

Tensor generalized_mean(const std::vector<Tensor>& losses, double gamma) {
  Tensor l = stack_losses("generalized_mean", losses);
  for (double v : l.to_vector<double>())
    TLM_CHECK(v > 0, "generalized_mean: task losses must be positive, got {}", v);
  if (std::isinf(gamma)) return gamma > 0 ? max(l, 0) : neg(max(neg(l), 0));
  if (gamma == 0) return exp(mean(log(l)));  // geometric mean
  // ((1/n) sum L^g)^(1/g) = exp(LSE(g log L) - log n)/g), stable for large |g|
  const double n = static_cast<double>(losses.size());
  return exp(mul(add(logsumexp(mul(log(l), gamma), 0), -std::log(n)), 1.0 / gamma));
}

InitialLossNormalizer::InitialLossNormalizer(std::vector<double> initial_losses)
    : initial_(std::move(initial_losses)) {}

Tensor InitialLossNormalizer::operator()(const std::vector<Tensor>& losses) {
  if (initial_.empty())
    for (const Tensor& l : losses) initial_.push_back(l.item());
  TLM_CHECK(initial_.size() == losses.size(),
            "initial_loss_normalizer: {} initial losses recorded, {} task losses given",
            initial_.size(), losses.size());
  return normalized_sum(losses, initial_);
}

double softmax_ce_initial_loss(int64_t num_classes) {
  TLM_CHECK(num_classes >= 1, "softmax_ce_initial_loss: need at least one class, got {}",
            num_classes);
  return std::log(static_cast<double>(num_classes));
}

double label_entropy(const std::vector<double>& f) {
  double total = 0;
  for (double v : f) {
    TLM_CHECK(v >= 0 && std::isfinite(v), "label_entropy: frequencies must be >= 0, got {}", v);
    total += v;
  }
  TLM_CHECK(total > 0, "label_entropy: all {} frequencies are zero", f.size());
  double h = 0;
  for (double v : f)
    if (v > 0) h -= v / total * std::log(v / total);
  return h;
}

Tensor uncertainty_weighted_sum(const std::vector<Tensor>& losses, const Tensor& log_var,
                                const std::vector<TaskKind>& kinds) {
  Tensor l = stack_losses("uncertainty_weighting", losses);
  TLM_CHECK(kinds.size() == losses.size() && log_var.defined() && log_var.dim() == 1 &&
                log_var.shape()[0] == static_cast<int64_t>(losses.size()),
            "uncertainty_weighting: {} task losses, {} task kinds, log_var {}", losses.size(),
            kinds.size(), log_var.defined() ? shape_str(log_var.shape()) : "undefined");
  std::vector<double> c(kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) c[i] = kinds[i] == TaskKind::kRegression ? 0.5 : 1.0;
  Tensor s = log_var.dtype() == l.dtype() ? log_var : cast(log_var, l.dtype());
  Tensor weighted = mul(mul(exp(neg(s)), l), from_doubles(c, l.dtype()));
  return sum(add(weighted, mul(s, 0.5)));
}

UncertaintyWeighting::UncertaintyWeighting(std::vector<TaskKind> kinds) : kinds_(std::move(kinds)) {
  TLM_CHECK(!kinds_.empty(), "uncertainty_weighting: no tasks");
  register_parameter("log_var", log_var, Tensor::zeros({static_cast<int64_t>(kinds_.size())}));
}

Tensor UncertaintyWeighting::forward(const std::vector<Tensor>& losses) const {
  return uncertainty_weighted_sum(losses, log_var, kinds_);
}

// ---------------------------------------------------------------------------------------
// Gradient space
// ---------------------------------------------------------------------------------------
TaskGradients task_gradients(int n_tasks, const std::function<Tensor(int)>& loss_of_task,
                             const std::vector<Tensor>& params) {
  TLM_CHECK(n_tasks >= 1, "task_gradients: need at least one task, got {}", n_tasks);
  TaskGradients out(n_tasks);
  for (int i = 0; i < n_tasks; ++i) {
    for (Tensor p : params) p.zero_grad();
    Tensor loss = loss_of_task(i);
    if (loss.requires_grad()) loss.backward();
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      out[i].push_back(g.defined() ? g.clone() : Tensor::zeros(p.shape(), p.dtype()));
    }
  }
  for (Tensor p : params) p.zero_grad();
  return out;
}

Gram gram_matrix(const TaskGradients& g) {
  check_task_grads("gram_matrix", g);
  const size_t n = g.size();
  Gram G(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) G[i][j] = G[j][i] = dot(g[i], g[j]);
  return G;
}

std::vector<Tensor> combine_gradients(const TaskGradients& g, const std::vector<double>& coeffs) {
  check_task_grads("combine_gradients", g);
  TLM_CHECK(coeffs.size() == g.size(), "combine_gradients: {} coefficients for {} tasks",
            coeffs.size(), g.size());
  NoGradGuard no_grad;
  std::vector<Tensor> u;
  for (size_t k = 0; k < g[0].size(); ++k) {
    Tensor acc = Tensor::zeros(g[0][k].shape(), g[0][k].dtype());
    for (size_t i = 0; i < g.size(); ++i)
      if (coeffs[i] != 0) kernels::axpy_(acc, g[i][k], coeffs[i]);
    u.push_back(acc);
  }
  return u;
}

MinNormResult min_norm_two(const Gram& G) {
  check_gram("min_norm_two", G);
  TLM_CHECK(G.size() == 2, "min_norm_two: the closed form is for 2 tasks, got {}", G.size());
  const double denom = G[0][0] - 2 * G[0][1] + G[1][1];  // ||g1 - g2||^2
  // a1 = clip(<g2 - g1, g2> / ||g1 - g2||^2, 0, 1); equal gradients: any a, take 1/2
  const double a1 = denom > 0 ? std::clamp((G[1][1] - G[0][1]) / denom, 0.0, 1.0) : 0.5;
  MinNormResult r;
  r.alpha = {a1, 1 - a1};
  r.norm2 = a1 * a1 * G[0][0] + 2 * a1 * (1 - a1) * G[0][1] + (1 - a1) * (1 - a1) * G[1][1];
  return r;
}

MinNormResult min_norm_frank_wolfe(const Gram& G, int max_iterations, double tol) {
  check_gram("min_norm_frank_wolfe", G);
  const size_t n = G.size();
  MinNormResult r;
  r.alpha.assign(n, 1.0 / n);
  const double scale = std::max(max_diag(G), std::numeric_limits<double>::min());
  for (r.iterations = 0; r.iterations < max_iterations; ++r.iterations) {
    std::vector<double> Ga = mat_vec(G, r.alpha);
    double a = 0;
    for (size_t i = 0; i < n; ++i) a += r.alpha[i] * Ga[i];
    const size_t t = std::min_element(Ga.begin(), Ga.end()) - Ga.begin();
    const double c = Ga[t];
    r.gap = a - c;
    if (r.gap <= tol * scale) break;
    // The vertex in use that points most uphill: moving weight away from it is the "away
    // step" (Lacoste-Julien & Jaggi, arXiv:1511.05932), which makes Frank-Wolfe converge
    // linearly when the min-norm point lies on a face (plain steps zig-zag at O(1/k) there).
    size_t s = t;
    for (size_t i = 0; i < n; ++i)
      if (r.alpha[i] > 0 && (s == t || Ga[i] > Ga[s])) s = i;
    const double away_gap = s == t ? 0 : Ga[s] - a;
    if (r.gap >= away_gap) {
      // Frank-Wolfe step towards g_t, exact line search on [g(alpha), g_t]
      const double denom = a - 2 * c + G[t][t];  // ||g(alpha) - g_t||^2
      if (denom <= 0) break;
      const double step = std::clamp((a - c) / denom, 0.0, 1.0);
      for (size_t i = 0; i < n; ++i) r.alpha[i] *= 1 - step;
      r.alpha[t] += step;
    } else {
      // away step: alpha <- (1 + step) alpha - step e_s, step <= alpha_s / (1 - alpha_s)
      const double denom = a - 2 * Ga[s] + G[s][s];  // ||g(alpha) - g_s||^2
      if (denom <= 0) break;
      const double max_step =
          r.alpha[s] < 1 ? r.alpha[s] / (1 - r.alpha[s]) : std::numeric_limits<double>::infinity();
      const double step = std::clamp((Ga[s] - a) / denom, 0.0, max_step);
      for (size_t i = 0; i < n; ++i) r.alpha[i] *= 1 + step;
      r.alpha[s] -= step;
      if (step == max_step) r.alpha[s] = 0;  // the vertex leaves the active set exactly
    }
  }
  std::vector<double> Ga = mat_vec(G, r.alpha);
  r.norm2 = 0;
  for (size_t i = 0; i < n; ++i) r.norm2 += r.alpha[i] * Ga[i];
  r.gap = r.norm2 - *std::min_element(Ga.begin(), Ga.end());
  return r;
}

MinNormResult min_norm_weights(const Gram& G) {
  return G.size() == 2 ? min_norm_two(G) : min_norm_frank_wolfe(G);
}

std::vector<Tensor> gradnorm_normalized_combine(const TaskGradients& g) {
  check_task_grads("gradnorm_normalized_combine", g);
  std::vector<double> coeffs(g.size(), 0.0);
  for (size_t i = 0; i < g.size(); ++i) {
    const double norm = std::sqrt(dot(g[i], g[i]));
    coeffs[i] = norm > 0 ? 1.0 / norm : 0.0;
  }
  return combine_gradients(g, coeffs);
}

std::vector<Tensor> mgda_combine(const TaskGradients& g, MinNormResult* info) {
  MinNormResult r = min_norm_weights(gram_matrix(g));
  if (info) *info = r;
  return combine_gradients(g, r.alpha);
}

MainAuxResult main_aux_weights(const Gram& G, int max_iterations, double tol) {
  check_gram("main_aux", G);
  const size_t m = G.size() - 1;
  MainAuxResult r;
  r.lambda.assign(m, 0.0);
  std::vector<double> c(G.size(), 0.0);  // u = sum c_j g_j, c = [1, lambda]
  c[0] = 1;
  const double scale = std::max(max_diag(G), std::numeric_limits<double>::min());
  for (r.iterations = 0; r.iterations < max_iterations; ++r.iterations) {
    std::vector<double> Gc = mat_vec(G, c);
    // Pick the auxiliary task that violates the optimality conditions most (for lambda = 0 this
    // is t = argmin <g_t, u>, as in the post; a positive lambda with <g_t,u> > 0 is too large).
    size_t t = 0;
    double worst = 0;
    for (size_t i = 1; i <= m; ++i) {
      if (G[i][i] <= 0) continue;  // a zero gradient constrains nothing
      const double v = c[i] > 0 ? std::abs(Gc[i]) : std::max(0.0, -Gc[i]);
      if (v > worst) worst = v, t = i;
    }
    if (t == 0 || worst <= tol * scale) break;
    // lambda_t <- relu(-<g_t, u - lambda_t g_t>) / ||g_t||^2 (exact minimisation in lambda_t)
    c[t] = std::max(0.0, -(Gc[t] - c[t] * G[t][t])) / G[t][t];
  }
  for (size_t i = 0; i < m; ++i) r.lambda[i] = c[i + 1];
  return r;
}

std::vector<Tensor> main_aux_combine(const std::vector<Tensor>& main_grad,
                                     const TaskGradients& aux_grads, MainAuxResult* info) {
  TaskGradients all{main_grad};
  all.insert(all.end(), aux_grads.begin(), aux_grads.end());
  MainAuxResult r = main_aux_weights(gram_matrix(all));
  if (info) *info = r;
  std::vector<double> coeffs{1.0};
  coeffs.insert(coeffs.end(), r.lambda.begin(), r.lambda.end());
  return combine_gradients(all, coeffs);
}

}  // namespace tlm::nn
