#include "optim/lion.h"

#include "optim/registry.h"

#include "tensor/kernels/optim_step.h"

namespace tlm::optim {

Lion::Lion(std::vector<ParamGroup> groups, double lr, double beta1, double beta2)
    : Optimizer("lion", std::move(groups), lr, {"exp_avg"}), beta1_(beta1), beta2_(beta2) {
  detail::check_unit_interval("lion", "beta1", beta1);
  detail::check_unit_interval("lion", "beta2", beta2);
}

// Lion (arXiv:2302.06675; kexue.fm/archives/9473):
//   u ← sign(β1 m + (1 − β1) g)      the *old* momentum interpolated with β1; sign(0) = 0
//   θ ← θ(1 − ηλ),   θ ← θ − η u     decoupled decay, multiplied by the lr
//   m ← β2 m + (1 − β2) g            the stored momentum is updated afterwards, with β2
// One fused pass over each parameter (kernels::lion_step_), and over all of a step's
// parameters in one parallel region (update_all: kernels::lion_step_many).
void Lion::update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
                  double weight_decay) {
  kernels::lion_step_(param, grad, st.buffers[0],
                      {.lr = lr, .beta1 = beta1_, .beta2 = beta2_, .weight_decay = weight_decay});
}

void Lion::update_all(const std::vector<Update>& updates, double grad_scale) {
  std::vector<kernels::LionTarget> targets;
  for (const Update& u : updates)
    targets.push_back({u.param, u.grad, u.state->buffers[0],
                       {.lr = u.lr,
                        .beta1 = beta1_,
                        .beta2 = beta2_,
                        .weight_decay = u.weight_decay,
                        .grad_scale = grad_scale}});
  kernels::lion_step_many(targets);
}

OptimizerType lion_type() {
  return {"lion", "Lion, sign of the interpolated momentum (arXiv:2302.06675)",
          {beta1_key(), beta2_key()},
          [](std::vector<ParamGroup> groups, double lr, const KeyValues& k) {
            return std::make_unique<Lion>(std::move(groups), lr, k.number("beta1"), k.number("beta2"));
          }};
}

}  // namespace tlm::optim
