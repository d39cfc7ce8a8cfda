// Lion (EvoLved Sign Momentum, Chen et al., arXiv:2302.06675), as lucidrains/lion-pytorch and
// docs/methods.md, "Lion". Use an lr 3-10x smaller and a weight decay 3-10x larger than AdamW's.
//
//   optim::Lion opt(optim::default_param_groups(model.named_parameters(), 1.0),
//                   /*lr=*/3e-4, /*beta1=*/0.9, /*beta2=*/0.99);
//
// State: one buffer per parameter (the momentum m); no epsilon.
#pragma once

#include "optim/optimizer.h"

namespace tlm::optim {

class Lion : public Optimizer {
 public:
  // lr >= 0; beta1, beta2 in [0, 1) (all finite), else tlm::Error naming the key.
  Lion(std::vector<ParamGroup> groups, double lr, double beta1 = 0.9, double beta2 = 0.99);

  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }

 protected:
  void update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
              double weight_decay) override;
  void update_all(const std::vector<Update>& updates, double grad_scale) override;

 private:
  double beta1_, beta2_;
};

// The registry entry (optim/registry.h): "lion", keys beta1, beta2.
struct OptimizerType;
OptimizerType lion_type();

}  // namespace tlm::optim
