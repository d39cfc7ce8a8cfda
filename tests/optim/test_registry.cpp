#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/registry.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {


std::vector<ParamGroup> groups() {
  Tensor w = Tensor::zeros({2, 2}).set_requires_grad(true);
  return {{{{"w", w}}, 0.1, 1.0}};
}

TEST(Registry, NamesAndFactories) {
  EXPECT_EQ(optimizer_names(), (std::vector<std::string>{"adamw", "lion", "sgd"}));
  for (const auto& name : optimizer_names()) {
    auto opt = make_optimizer(name, groups(), {.lr = 1e-3, .momentum = 0.9});
    EXPECT_STREQ(opt->name(), name.c_str());
    EXPECT_EQ(opt->lr(), 1e-3);
  }
  EXPECT_EQ(make_optimizer("adamw", groups(), {})->state_bytes(), 2 * 4 * 4);
  EXPECT_EQ(make_optimizer("lion", groups(), {})->state_bytes(), 4 * 4);
  EXPECT_EQ(make_optimizer("sgd", groups(), {.momentum = 0.9})->state_bytes(), 4 * 4);
}

TEST(Registry, UnknownNameListsTheAllowedOnes) {
  EXPECT_TLM_ERROR(make_optimizer("adam", groups(), {}), "'adam'", "adamw, lion, sgd");
}

TEST(Registry, BadHyperparametersNameTheKeyAndRange) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& name : optimizer_names()) {
    SCOPED_TRACE(name);
    auto bad = [&](OptimizerConfig c, const std::string& value, const std::string& range) {
      EXPECT_TLM_ERROR(make_optimizer(name, groups(), c), value, range, name);
    };
    bad({.lr = -1e-3}, "lr = -0.001", ">= 0");
    bad({.lr = NAN}, "lr = nan", "finite");
    bad({.lr = inf}, "lr = inf", "finite");
    bad({.beta1 = 1.0}, "beta1 = 1", "[0, 1)");
    bad({.beta1 = -0.1}, "beta1 = -0.1", "[0, 1)");
    bad({.beta2 = 1.5}, "beta2 = 1.5", "[0, 1)");
    bad({.beta2 = NAN}, "beta2 = nan", "[0, 1)");
    bad({.eps = 0.0}, "eps = 0", "> 0");
    bad({.eps = -1e-8}, "eps = -1e-08", "> 0");
    bad({.momentum = 1.0}, "momentum = 1", "[0, 1)");
  }
  EXPECT_TLM_ERROR(make_optimizer("sgd", groups(), {.momentum = 0.0, .nesterov = true}), "nesterov", "momentum > 0");
}

}  // namespace
}  // namespace tlm::optim
