// Gradient clipping by global norm, and the check for non-finite gradients.
//
//   double norm = optim::clip_grad_norm(opt->parameters(), 1.0);  // before opt->step()
//   if (!std::isfinite(norm)) ...                                 // skip the step, or stop
//   optim::check_grads_finite(model.named_parameters());          // throws, naming the tensor
//
// Parameters without a gradient are ignored.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::optim {

// The global L2 norm of all gradients, sqrt(Σ g²), accumulated in double.
double grad_norm(const std::vector<Tensor>& params);

// torch.nn.utils.clip_grad_norm_: with N the global norm, every gradient is scaled in place by
// min(1, max_norm / (N + 1e-6)). Returns N, the norm before clipping. When N is not finite
// (a NaN or inf in some gradient) nothing is scaled and N is returned, so the caller decides
// (skip the step under loss scaling, or stop with check_grads_finite's error).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
// The factor clip_grad_norm scales by: min(1, max_norm / (norm + 1e-6)). The trainer passes it
// to Optimizer::step(grad_scale), which applies it inside the update: the same numbers without
// a pass over the gradients of its own.
double clip_coefficient(double norm, double max_norm);

// True when every gradient is free of NaN and inf.
bool grads_finite(const std::vector<Tensor>& params);
// Throws tlm::Error naming the first parameter whose gradient holds a NaN or inf.
void check_grads_finite(const std::vector<std::pair<std::string, Tensor>>& named_params);

}  // namespace tlm::optim
