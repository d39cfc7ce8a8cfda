// Multi-task learning: weighting losses (loss space) and combining per-task gradients
// (gradient space: gradient normalisation, MGDA min-norm, main + auxiliary tasks).
//
//   // loss space: one scalar to backpropagate
//   Tensor total = nn::realtime_normalized({l_cls, l_reg});           // sum L_i / sg(L_i)
//   nn::UncertaintyWeighting uw({nn::TaskKind::kClassification, nn::TaskKind::kRegression});
//   Tensor total2 = uw.forward({l_cls, l_reg});                        // log sigma^2 learned
//
//   // gradient space: per-task gradients of the shared parameters, then one combined update
//   nn::TaskGradients g = nn::task_gradients(n_tasks, [&](int i) { return loss_of_task(i); },
//                                            model.parameters());
//   std::vector<Tensor> u = nn::mgda_combine(g);   // <g_i, u> >= 0 for every task
//
// Su, "Multi-task learning" parts 1-3: https://kexue.fm/archives/8870 (loss weighting),
// https://kexue.fm/archives/8896 (Pareto / MGDA), https://kexue.fm/archives/8907 (main +
// auxiliary); MGDA: Sener & Koltun, arXiv:1810.04650; uncertainty weighting: Kendall et al.,
// arXiv:1705.07115.
//
// Loss space (each L_i a 0-D tensor):
//   fixed       L = sum a_i L_i                   (equal weights: a_i = 1/n)
//   initial     L = sum L_i / L_i^init            (scale invariant; CE theory value log C)
//   prior       L = sum L_i / L_i^prior           (CE: label entropy; L2: label variance)
//   real-time   L = sum L_i / sg(L_i)             (value n, gradient sum grad L_i / L_i)
//   gen. mean   L = ((1/n) sum L_i^g)^(1/g)       (g=1 mean, g->0 geometric, +-inf max/min)
//   uncertainty L = sum c_i e^{-s_i} L_i + s_i/2, s_i = log sigma_i^2 learned
//               (c_i = 1/2 regression, 1 classification)
// Gradient space (g_i = the gradient of task i, as a list of per-parameter tensors):
//   grad-norm   u = sum g_i / ||g_i||             (scale- and shift-invariant)
//   MGDA        u = sum a_i g_i, a = argmin_{a in simplex} ||sum a_i g_i||^2 (min-norm point of
//               the convex hull; n = 2 closed form a_1 = clip(<g2-g1,g2>/||g1-g2||^2, 0, 1);
//               n > 2 Frank-Wolfe on the Gram matrix G_ij = <g_i,g_j>, exact line search
//               gamma = clip((a - c)/(a - 2c + G_tt), 0, 1), a = a^T G a, c = (G a)_t)
//   main + aux  u = g0 + sum l_i g_i, l = argmin_{l >= 0} ||g0 + sum l_i g_i||^2: keeps the
//               main task's direction, removes only the components that would increase an
//               auxiliary loss; one aux: l = relu(-<g0,g1>)/||g1||^2; several: coordinate
//               descent, t = argmin_i <g_i,u>, l_t <- relu(-<g_t, u - l_t g_t>)/||g_t||^2.
#pragma once

#include <functional>
#include <vector>

#include "nn/loss/common.h"
#include "nn/module.h"

namespace tlm::nn {

// ---------------------------------------------------------------------------------------
// Loss space
// ---------------------------------------------------------------------------------------
Tensor weighted_sum(const std::vector<Tensor>& losses, const std::vector<double>& weights);
Tensor equal_weighted(const std::vector<Tensor>& losses);  // a_i = 1/n
// sum L_i / scale_i (initial-loss or prior normalisation with known scales).
Tensor normalized_sum(const std::vector<Tensor>& losses, const std::vector<double>& scales);
Tensor realtime_normalized(const std::vector<Tensor>& losses);
// gamma = 0: geometric mean; +-infinity: max / min. Losses must be positive.
Tensor generalized_mean(const std::vector<Tensor>& losses, double gamma);

// Initial-loss normalisation: the scales are the first losses it sees (or given up front,
// e.g. log C for a C-way softmax CE, E||y||^2 for L2 regression).
class InitialLossNormalizer {
 public:
  InitialLossNormalizer() = default;
  explicit InitialLossNormalizer(std::vector<double> initial_losses);
  Tensor operator()(const std::vector<Tensor>& losses);
  const std::vector<double>& initial_losses() const { return initial_; }

 private:
  std::vector<double> initial_;
};

// Theory values for the initial/prior normalisation: a C-way softmax CE starts at log C
// (uniform prediction); its prior-normalised scale is the entropy of the label frequencies
// -sum p_c log p_c (frequencies are normalised; zeros are skipped).
double softmax_ce_initial_loss(int64_t num_classes);
double label_entropy(const std::vector<double>& label_frequencies);

enum class TaskKind { kRegression, kClassification };

// sum c_i e^{-s_i} L_i + s_i/2 for losses [n] (0-D each) and log_var [n] (differentiable).
Tensor uncertainty_weighted_sum(const std::vector<Tensor>& losses, const Tensor& log_var,
                                const std::vector<TaskKind>& kinds);

class UncertaintyWeighting : public Module {
 public:
  explicit UncertaintyWeighting(std::vector<TaskKind> kinds);
  Tensor forward(const std::vector<Tensor>& losses) const;
  const std::vector<TaskKind>& kinds() const { return kinds_; }
  Tensor log_var;  // [n] s_i = log sigma_i^2, initialised to 0 (all weights equal)

 private:
  std::vector<TaskKind> kinds_;
};

// ---------------------------------------------------------------------------------------
// Gradient space
// ---------------------------------------------------------------------------------------
// Task gradients may be w.r.t. the parameters, or (the cheap approximation of part 2) w.r.t.
// the shared encoder output H: any list of tensors with the same shapes for every task.
using TaskGradients = std::vector<std::vector<Tensor>>;  // [task][parameter]
using Gram = std::vector<std::vector<double>>;           // [n][n], G_ij = <g_i, g_j>

// Runs loss_of_task(i) and its backward for each task and collects the gradients of
// `params` (zero where a task does not reach a parameter). The engine frees saved tensors
// after a backward pass, so each task gets its own forward pass. Clears params' .grad.
TaskGradients task_gradients(int n_tasks, const std::function<Tensor(int)>& loss_of_task,
                             const std::vector<Tensor>& params);

Gram gram_matrix(const TaskGradients& grads);
// sum_i coeffs_i g_i, per parameter.
std::vector<Tensor> combine_gradients(const TaskGradients& grads,
                                      const std::vector<double>& coeffs);

struct MinNormResult {
  std::vector<double> alpha;  // on the simplex
  double norm2 = 0;           // ||sum alpha_i g_i||^2
  double gap = 0;             // Frank-Wolfe duality gap a - min_i (G alpha)_i (0 when exact)
  int iterations = 0;
};
// Two-task closed form.
MinNormResult min_norm_two(const Gram& G);
// Frank-Wolfe for any n (also n = 2, where it is exact after at most two steps), with away
// steps so it converges linearly; stops when the duality gap is below tol * max_i G_ii.
MinNormResult min_norm_frank_wolfe(const Gram& G, int max_iterations = 10000, double tol = 1e-12);
// n = 2: closed form; otherwise Frank-Wolfe.
MinNormResult min_norm_weights(const Gram& G);

// sum g_i / ||g_i|| (tasks with a zero gradient are skipped).
std::vector<Tensor> gradnorm_normalized_combine(const TaskGradients& grads);
// MGDA: the min-norm combination; `info` receives the weights.
std::vector<Tensor> mgda_combine(const TaskGradients& grads, MinNormResult* info = nullptr);

struct MainAuxResult {
  std::vector<double> lambda;  // >= 0, one per auxiliary task
  int iterations = 0;
};
// Main task g0 and auxiliary gradients: u = g0 + sum lambda_i g_i with <u, g_i> >= 0.
MainAuxResult main_aux_weights(const Gram& G /* [1+m] x [1+m], index 0 = main */,
                               int max_iterations = 10000, double tol = 1e-12);
std::vector<Tensor> main_aux_combine(const std::vector<Tensor>& main_grad,
                                     const TaskGradients& aux_grads, MainAuxResult* info = nullptr);

}  // namespace tlm::nn
