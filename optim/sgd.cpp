#include "optim/sgd.h"

#include "optim/registry.h"

#include "tensor/kernels/optim_step.h"

namespace tlm::optim {

namespace {
double checked_momentum(double momentum, bool nesterov) {
  detail::check_unit_interval("sgd", "momentum", momentum);
  TLM_CHECK(!nesterov || momentum > 0, "sgd: nesterov = true needs momentum > 0, got momentum = {}",
            momentum);
  return momentum;
}
}  // namespace

Sgd::Sgd(std::vector<ParamGroup> groups, double lr, double momentum, bool nesterov)
    : Optimizer("sgd", std::move(groups), lr,
                checked_momentum(momentum, nesterov) > 0 ? std::vector<std::string>{"momentum"}
                                                         : std::vector<std::string>{}),
      momentum_(momentum),
      nesterov_(nesterov) {}

// SGD with (Nesterov) momentum (Sutskever et al. 2013, PMLR 28(3):1139; PyTorch's form):
//   d ← g + λθ                          L2 weight decay, part of the gradient
//   b ← μ b + d  (first update: b ← d)
//   d ← d + μ b  (Nesterov)  or  d ← b
//   θ ← θ − η d
// One fused pass per parameter (kernels::sgd_step_).
void Sgd::update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
                 double weight_decay) {
  Tensor none;
  Tensor& buf = st.buffers.empty() ? none : st.buffers[0];
  kernels::sgd_step_(param, grad, buf,
                     {.lr = lr,
                      .momentum = momentum_,
                      .weight_decay = weight_decay,
                      .nesterov = nesterov_,
                      .first = st.step == 1});
}

OptimizerType sgd_type() {
  return {"sgd", "SGD with momentum (torch.optim.SGD)",
          {EntryKey::number("momentum", "0.9", "momentum (sgd)", KeyRange::half_open(0, 1)),
           EntryKey::flag("nesterov", "false", "Nesterov momentum (sgd; needs momentum > 0)")},
          [](std::vector<ParamGroup> groups, double lr, const KeyValues& k) {
            return std::make_unique<Sgd>(std::move(groups), lr, k.number("momentum"), k.flag("nesterov"));
          }};
}

}  // namespace tlm::optim
