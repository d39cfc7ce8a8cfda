#include "optim/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <utility>

#include "optim/adamw.h"
#include "optim/lion.h"
#include "optim/sgd.h"

namespace tlm::optim {

namespace {
using Factory =
    std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>, const OptimizerConfig&)>;
using G = std::vector<ParamGroup>;
using C = const OptimizerConfig&;
template <class O, class... Args>
std::unique_ptr<Optimizer> make(G groups, Args... args) {
  return std::make_unique<O>(std::move(groups), args...);
}

// One line per optimizer.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> r = {
      {"sgd", [](G g, C c) { return make<Sgd>(std::move(g), c.lr, c.momentum, c.nesterov); }},
      {"adamw", [](G g, C c) { return make<AdamW>(std::move(g), c.lr, c.beta1, c.beta2, c.eps); }},
      {"lion", [](G g, C c) { return make<Lion>(std::move(g), c.lr, c.beta1, c.beta2); }},
  };
  return r;
}
}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          const OptimizerConfig& cfg) {
  const Factory* factory = nullptr;
  for (const auto& [n, f] : registry())
    if (n == name) factory = &f;
  TLM_CHECK(factory, "optimizer: unknown optimizer '{}'; allowed: {}", name,
            fmt::join(optimizer_names(), ", "));
  const char* opt = name.c_str();
  detail::check_lr(opt, cfg.lr);
  detail::check_unit_interval(opt, "beta1", cfg.beta1);
  detail::check_unit_interval(opt, "beta2", cfg.beta2);
  detail::check_positive(opt, "eps", cfg.eps);
  detail::check_unit_interval(opt, "momentum", cfg.momentum);
  return (*factory)(std::move(groups), cfg);
}

}  // namespace tlm::optim
