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

nn::Registry<ScheduleType>& schedule_registry() {
  using nn::EntryKey;
  using nn::KeyRange;
  using nn::KeyValues;
  static nn::Registry<ScheduleType> registry = [] {
    nn::Registry<ScheduleType> r("schedule");
    r.add({"cosine", "linear warmup, then cosine decay to min_lr (nanoGPT's get_lr)",
           {EntryKey::number("min_lr", "1e-4", "learning rate after lr_decay_iters (at most learning_rate)",
                             KeyRange::at_least(0)),
            EntryKey::integer("warmup_iters", "100", "linear warmup steps (at most lr_decay_iters)",
                              KeyRange::at_least(0)),
            EntryKey::integer("lr_decay_iters", "2000", "step where the cosine reaches min_lr",
                              KeyRange::at_least(1))},
           [](double lr, const KeyValues& k) {
             return std::make_unique<WarmupCosineSchedule>(lr, k.number("min_lr"),
                                                           k.integer("warmup_iters"),
                                                           k.integer("lr_decay_iters"));
           },
           [](double lr, const KeyValues& k) {
             const int64_t warmup = k.integer("warmup_iters"), decay = k.integer("lr_decay_iters");
             TLM_CHECK(warmup <= decay,
                       "schedule cosine: warmup_iters = {} exceeds lr_decay_iters = {} (allowed: "
                       "warmup_iters <= lr_decay_iters)", warmup, decay);
             const double min_lr = k.number("min_lr");
             TLM_CHECK(min_lr <= lr,
                       "schedule cosine: min_lr = {} exceeds learning_rate = {} (allowed: min_lr "
                       "<= learning_rate)", min_lr, lr);
           }});
    r.add({"constant", "the learning rate at every step", {},
           [](double lr, const KeyValues&) { return std::make_unique<ConstantSchedule>(lr); }});
    return r;
  }();
  return registry;
}

std::vector<std::string> schedule_names() { return schedule_registry().names(); }

std::unique_ptr<LrSchedule> make_schedule(const std::string& name, double lr,
                                          const nn::KeyValues& keys) {
  const ScheduleType* type = schedule_registry().find(name);
  TLM_CHECK(type != nullptr, "schedule: unknown schedule '{}'; allowed: {}", name,
            fmt::join(schedule_names(), ", "));
  return type->make(lr, nn::with_defaults(type->keys, keys, fmt::format("schedule {}", name)));
}

std::unique_ptr<LrSchedule> make_schedule(const std::string& name, const ScheduleConfig& cfg) {
  return make_schedule(name, cfg.lr,
                       {{"min_lr", cfg.min_lr},
                        {"warmup_iters", cfg.warmup_iters},
                        {"lr_decay_iters", cfg.lr_decay_iters}});
}

}  // namespace tlm::optim
