// Loss scaling for fp16 training (Micikevicius et al. 2018, arXiv:1710.03740; docs/methods.md,
// "Loss scaling").
//
//   LossScaler scaler({.dynamic = true});          // PyTorch GradScaler's defaults
//   loss.backward(Tensor::scalar(scaler.scale()));  // gradients of S * loss
//   if (scaler.update(!optim::grads_finite(params), step)) {
//     scaler.unscale(params);                       // g <- g / S in fp32, before clipping
//     clip ...; optimizer.step();
//   }                                               // else: the step is skipped
//
// Multiplying the loss by S shifts every gradient up by log2(S) binades, so gradients below
// fp16's smallest subnormal 2^-24 survive the 16-bit rounding of backward; dividing by S in
// fp32 afterwards restores their value (Adam and Lion are invariant to a constant factor
// anyway, clipping is not: hence unscale first).
//   dynamic: S0 = loss_scale_init (2^16); after loss_scale_interval (2000) consecutive steps
//            with finite gradients S <- S * loss_scale_growth (2); a step whose gradients hold
//            an inf/NaN is skipped (no update, the counter restarts) and S <- S * backoff (0.5),
//            never below loss_scale_min. An overflow with S already at the minimum stops the
//            run with an error naming the step (instead of skipping forever).
//   static:  S fixed; a step with inf/NaN gradients is skipped and counted, S unchanged.
//            S = 1 is plain fp16 without loss scaling.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::optim {

struct LossScalerOptions {
  bool dynamic = true;
  double init_scale = 65536.0;    // the static scale when !dynamic
  double growth_factor = 2.0;     // > 1
  int64_t growth_interval = 2000; // >= 1 good steps between growths
  double backoff_factor = 0.5;    // in (0, 1)
  double min_scale = 1.0;         // > 0, at most init_scale
};

class LossScaler {
 public:
  // Refuses non-positive or non-finite values, naming the config key (loss_scale_*).
  explicit LossScaler(const LossScalerOptions& options);

  double scale() const { return scale_; }
  // Records the outcome of the step whose gradients were just computed with scale(); returns
  // true when the step is to be applied, false when it is skipped. `step` names it in the
  // error when the dynamic scale cannot go lower.
  bool update(bool found_inf, int64_t step);
  // Divides every gradient by scale() in place (fp32).
  void unscale(const std::vector<Tensor>& params) const;

  int64_t skipped_steps() const { return skipped_; }  // steps skipped for inf/NaN gradients
  int64_t good_steps() const { return good_; }        // finite steps since the last change
  const LossScalerOptions& options() const { return options_; }

  // For checkpoints: scale, good_steps, skipped_steps (exact in a double).
  std::map<std::string, double> state_dict() const;
  void load_state_dict(const std::map<std::string, double>& state);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t good_ = 0, skipped_ = 0;
};

}  // namespace tlm::optim
