// SGD with momentum, exactly as torch.optim.SGD (dampening 0): weight decay is L2, added to the
// gradient (not decoupled), and the first step initialises the momentum buffer to the gradient.
//
//   optim::Sgd opt(groups, /*lr=*/0.1, /*momentum=*/0.9, /*nesterov=*/true);
//
// State: one buffer per parameter with momentum, none without.
#pragma once

#include "optim/optimizer.h"

namespace tlm::optim {

class Sgd : public Optimizer {
 public:
  // lr >= 0, momentum in [0, 1) (finite); nesterov needs momentum > 0. Else tlm::Error.
  Sgd(std::vector<ParamGroup> groups, double lr, double momentum = 0, bool nesterov = false);

  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
              double weight_decay) override;

 private:
  double momentum_;
  bool nesterov_;
};

// The registry entry (optim/registry.h): "sgd", keys momentum, nesterov.
struct OptimizerType;
OptimizerType sgd_type();

}  // namespace tlm::optim
