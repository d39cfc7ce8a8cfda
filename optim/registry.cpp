#include "optim/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>

#include "optim/adamw.h"
#include "optim/lion.h"
#include "optim/sgd.h"

namespace tlm::optim {

// The list: one line per optimizer, each entry defined in its optimizer's own file. An explicit
// list rather than a registration constant in each file: optim/ is a static library, and the
// linker drops an object file that nothing references -- a constant that registers itself
// would be dropped with it. Calling the entry function from here references the file. (A
// program's own file, always linked, may call optimizer_registry().add(...) instead:
// examples/new_optimizer_signsgd.cpp.)
nn::Registry<OptimizerType>& optimizer_registry() {
  static nn::Registry<OptimizerType> registry = [] {
    nn::Registry<OptimizerType> r("optimizer");
    r.add(adamw_type());
    r.add(lion_type());
    r.add(sgd_type());
    return r;
  }();
  return registry;
}

EntryKey beta1_key() {
  return EntryKey::number("beta1", "0.9", "first-moment decay (AdamW, Lion)", KeyRange::half_open(0, 1));
}

EntryKey beta2_key() {
  return EntryKey::number("beta2", "0.99", "second-moment decay (AdamW; Lion's momentum decay)",
                          KeyRange::half_open(0, 1));
}

std::vector<std::string> optimizer_names() { return optimizer_registry().names(); }

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          double lr, const KeyValues& keys) {
  const OptimizerType* type = optimizer_registry().find(name);
  TLM_CHECK(type != nullptr, "optimizer: unknown optimizer '{}'; allowed: {}", name,
            fmt::join(optimizer_names(), ", "));
  detail::check_lr(name.c_str(), lr);
  return type->make(std::move(groups), lr, nn::with_defaults(type->keys, keys, name));
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerConfig& cfg) {
  TLM_CHECK(optimizer_registry().find(name) != nullptr,
            "optimizer: unknown optimizer '{}'; allowed: {}", name,
            fmt::join(optimizer_names(), ", "));
  const char* opt = name.c_str();
  detail::check_lr(opt, cfg.lr);
  detail::check_unit_interval(opt, "beta1", cfg.beta1);
  detail::check_unit_interval(opt, "beta2", cfg.beta2);
  detail::check_positive(opt, "eps", cfg.eps);
  detail::check_unit_interval(opt, "momentum", cfg.momentum);
  KeyValues keys{{"beta1", cfg.beta1}, {"beta2", cfg.beta2}, {"eps", cfg.eps},
                 {"momentum", cfg.momentum}, {"nesterov", cfg.nesterov}};
  return make_optimizer(name, std::move(groups), cfg.lr, keys);
}

}  // namespace tlm::optim
