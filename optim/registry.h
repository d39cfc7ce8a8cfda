// The optimizer registry: the CLI and configs select an optimizer by name.
//
//   auto opt = optim::make_optimizer("lion", groups, {.lr = 3e-4, .beta1 = 0.9, .beta2 = 0.99});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace tlm::optim {

// Hyperparameters shared by the registry's optimizers; each uses the fields it needs
// (sgd: lr, momentum, nesterov; adamw: lr, beta1, beta2, eps; lion: lr, beta1, beta2).
// Weight decay is per parameter group (ParamGroup::weight_decay). The defaults are PyTorch's
// AdamW/SGD ones; Lion's usual betas are (0.9, 0.99) and nanoGPT uses (0.9, 0.99) for AdamW
// too, so set them explicitly.
struct OptimizerConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0;
  bool nesterov = false;
};

// "sgd", "adamw" or "lion". Every field of cfg is validated (lr >= 0; beta1, beta2, momentum
// in [0, 1); eps > 0; all finite), whether or not the chosen optimizer uses it, so a typo in
// a config is never silently ignored. Errors name the key and the allowed range; an unknown
// name lists the allowed ones.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerConfig& cfg);
std::vector<std::string> optimizer_names();

}  // namespace tlm::optim
