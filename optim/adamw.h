// AdamW: Adam with decoupled weight decay, exactly as torch.optim.AdamW (amsgrad off).
//
//   optim::AdamW opt(optim::default_param_groups(model.named_parameters(), 0.1),
//                    /*lr=*/1e-3, /*beta1=*/0.9, /*beta2=*/0.99, /*eps=*/1e-8);
//
// State: two buffers per parameter (exp_avg m, exp_avg_sq v) of its dtype.
#pragma once

#include "optim/optimizer.h"

namespace tlm::optim {

class AdamW : public Optimizer {
 public:
  // lr >= 0; beta1, beta2 in [0, 1); eps > 0 (all finite), else tlm::Error naming the key.
  AdamW(std::vector<ParamGroup> groups, double lr, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8);

  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  double eps() const { return eps_; }

 protected:
  void update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
              double weight_decay) override;
  void update_all(const std::vector<Update>& updates, double grad_scale) override;

 private:
  double beta1_, beta2_, eps_;
};

// The registry entry (optim/registry.h): "adamw", keys beta1, beta2, eps.
struct OptimizerType;
OptimizerType adamw_type();

}  // namespace tlm::optim
