// The optimizer registry: the CLI and configs select an optimizer by name. One nn::Registry
// (nn/registry.h) whose entries name their hyperparameters as config keys (group "optimizer").
//
//   auto a = optim::make_optimizer("lion", groups, 3e-4, {{"beta1", 0.9}, {"beta2", 0.99}});
//   auto b = optim::make_optimizer("adamw", groups, {.lr = 1e-3, .beta2 = 0.99});  // typed form
//
// Adding an optimizer: its file pair in optim/ defines the class and its entry (an
// OptimizerType: name, help, keys, factory), its test, and one line in the list of
// registry.cpp:optimizer_registry. The config's `optimizer` choices and its keys come from this
// registry (train/io/config.cpp); nothing in train/ changes (docs/extending.md, section 3).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/entry_key.h"
#include "nn/registry.h"
#include "optim/optimizer.h"

namespace tlm::optim {

using nn::EntryKey;
using nn::KeyRange;
using nn::KeyValues;

// groups, the peak learning rate, and every key of the entry (defaults filled in).
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(
    std::vector<ParamGroup> groups, double lr, const KeyValues& keys)>;

struct OptimizerType {
  std::string name;            // the value of the config key `optimizer` (= Optimizer::name())
  std::string help;            // one line
  std::vector<EntryKey> keys;  // its hyperparameters (beyond learning_rate and weight_decay)
  OptimizerFactory make;
};

// The optimizers, in the order of the list in registry.cpp.
nn::Registry<OptimizerType>& optimizer_registry();

// Registers an optimizer from a program's own file at static initialisation (a file-scope
// constant of this type): examples/new_optimizer_signsgd.cpp. Not for files of the library
// (see registry.cpp).
struct RegisterOptimizer {
  explicit RegisterOptimizer(OptimizerType type) { optimizer_registry().add(std::move(type)); }
};

// The keys several optimizers share (one description each, so the config lists them once).
EntryKey beta1_key();  // first-moment decay, [0, 1), default 0.9
EntryKey beta2_key();  // second-moment decay, [0, 1), default 0.99

// The optimizer `name` over `groups`: lr >= 0 and finite; the entry's keys missing from `keys`
// take their defaults, each value is checked against its range (errors name the optimizer, the
// key and the range); an unknown name lists the allowed ones.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          double lr, const KeyValues& keys);

// The typed form for code and tests: the hyperparameters of the built-in optimizers as fields,
// each used by the optimizers that name it (sgd: momentum, nesterov; adamw: beta1, beta2, eps;
// lion: beta1, beta2). The defaults are PyTorch's AdamW/SGD ones; Lion's usual betas are
// (0.9, 0.99) and nanoGPT uses (0.9, 0.99) for AdamW too, so set them explicitly.
struct OptimizerConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0;
  bool nesterov = false;
};
// Every field of cfg is validated (lr >= 0; beta1, beta2, momentum in [0, 1); eps > 0; all
// finite), whether or not the chosen optimizer uses it, so a typo is never silently ignored.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerConfig& cfg);
std::vector<std::string> optimizer_names();

}  // namespace tlm::optim
