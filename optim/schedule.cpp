#include "optim/schedule.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <utility>

#include "optim/optimizer.h"
#include "tensor/error.h"

namespace tlm::optim {

ConstantSchedule::ConstantSchedule(double lr) : lr_(lr) { detail::check_lr("schedule", lr); }

double ConstantSchedule::lr_at(int64_t) const { return lr_; }

WarmupCosineSchedule::WarmupCosineSchedule(double lr, double min_lr, int64_t warmup_iters,
                                           int64_t lr_decay_iters)
    : lr_(lr), min_lr_(min_lr), warmup_iters_(warmup_iters), lr_decay_iters_(lr_decay_iters) {
  detail::check_lr("schedule", lr);
  TLM_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= lr,
            "schedule: min_lr = {} is outside the allowed range [0, lr = {}]", min_lr, lr);
  TLM_CHECK(warmup_iters >= 0, "schedule: warmup_iters = {} must be >= 0", warmup_iters);
  TLM_CHECK(lr_decay_iters >= warmup_iters,
            "schedule: lr_decay_iters = {} must be >= warmup_iters = {}", lr_decay_iters,
            warmup_iters);
}

double WarmupCosineSchedule::lr_at(int64_t it) const {
  if (it < warmup_iters_)
    return lr_ * static_cast<double>(it + 1) / static_cast<double>(warmup_iters_ + 1);
  if (it > lr_decay_iters_) return min_lr_;
  const double ratio = static_cast<double>(it - warmup_iters_) /
                       static_cast<double>(std::max<int64_t>(1, lr_decay_iters_ - warmup_iters_));
  return min_lr_ + 0.5 * (1.0 + std::cos(std::numbers::pi * ratio)) * (lr_ - min_lr_);
}

namespace {
using Factory = std::function<std::unique_ptr<LrSchedule>(const ScheduleConfig&)>;
using C = const ScheduleConfig&;
// The schedule registry: one line per schedule.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> r = {
      {"constant", [](C c) { return std::make_unique<ConstantSchedule>(c.lr); }},
      {"warmup_cosine",
       [](C c) {
         return std::make_unique<WarmupCosineSchedule>(c.lr, c.min_lr, c.warmup_iters,
                                                       c.lr_decay_iters);
       }},
  };
  return r;
}
}  // namespace

std::vector<std::string> schedule_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<LrSchedule> make_schedule(const std::string& name, const ScheduleConfig& cfg) {
  for (const auto& [n, factory] : registry())
    if (n == name) return factory(cfg);
  TLM_FAIL("schedule: unknown schedule '{}'; allowed: {}", name, fmt::join(schedule_names(), ", "));
}

}  // namespace tlm::optim
