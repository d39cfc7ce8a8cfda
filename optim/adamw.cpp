#include "optim/adamw.h"

#include "optim/registry.h"

#include "tensor/kernels/optim_step.h"

namespace tlm::optim {

AdamW::AdamW(std::vector<ParamGroup> groups, double lr, double beta1, double beta2, double eps)
    : Optimizer("adamw", std::move(groups), lr, {"exp_avg", "exp_avg_sq"}),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps) {
  detail::check_unit_interval("adamw", "beta1", beta1);
  detail::check_unit_interval("adamw", "beta2", beta2);
  detail::check_positive("adamw", "eps", eps);
}

// AdamW (Loshchilov & Hutter, arXiv:1711.05101), in PyTorch's order, t = this parameter's
// step from 1:
//   θ ← θ(1 − ηλ)                                   decoupled: not rescaled by 1/√v̂
//   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
//   θ ← θ − η/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)   = θ − η m̂/(√v̂ + ε)
// One fused pass over each parameter (kernels::adamw_step_), and over all of a step's
// parameters in one parallel region (update_all: kernels::adamw_step_many).
void AdamW::update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
                   double weight_decay) {
  kernels::adamw_step_(param, grad, st.buffers[0], st.buffers[1],
                       {.lr = lr,
                        .beta1 = beta1_,
                        .beta2 = beta2_,
                        .eps = eps_,
                        .weight_decay = weight_decay,
                        .t = st.step});
}

void AdamW::update_all(const std::vector<Update>& updates, double grad_scale) {
  std::vector<kernels::AdamWTarget> targets;
  for (const Update& u : updates)
    targets.push_back({u.param, u.grad, u.state->buffers[0], u.state->buffers[1],
                       {.lr = u.lr,
                        .beta1 = beta1_,
                        .beta2 = beta2_,
                        .eps = eps_,
                        .weight_decay = u.weight_decay,
                        .t = u.state->step,
                        .grad_scale = grad_scale}});
  kernels::adamw_step_many(targets);
}

OptimizerType adamw_type() {
  return {"adamw", "Adam with decoupled weight decay (torch.optim.AdamW)",
          {beta1_key(), beta2_key(),
           EntryKey::number("eps", "1e-8", "AdamW denominator epsilon", KeyRange::open(0, 1))},
          [](std::vector<ParamGroup> groups, double lr, const KeyValues& k) {
            return std::make_unique<AdamW>(std::move(groups), lr, k.number("beta1"),
                                           k.number("beta2"), k.number("eps"));
          }};
}

}  // namespace tlm::optim
