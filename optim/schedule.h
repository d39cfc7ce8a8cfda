// Learning-rate schedules: lr_at(it) for iteration it = 0, 1, ... (set before that iteration's
// step, as nanoGPT's get_lr).
//
//   auto sched = optim::make_schedule("cosine", {.lr = 1e-3, .min_lr = 1e-4,
//                                     .warmup_iters = 100, .lr_decay_iters = 5000});
//   opt->set_lr(sched->lr_at(it));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/entry_key.h"
#include "nn/registry.h"

namespace tlm::optim {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual double lr_at(int64_t it) const = 0;
};

// lr(it) = lr.
class ConstantSchedule : public LrSchedule {
 public:
  explicit ConstantSchedule(double lr);
  double lr_at(int64_t it) const override;

 private:
  double lr_;
};

// nanoGPT's get_lr (docs/methods.md, "Learning-rate schedule"; cosine annealing: Loshchilov &
// Hutter, arXiv:1608.03983):
//   it < warmup:            lr (it + 1) / (warmup + 1)
//   it > lr_decay_iters:    min_lr
//   otherwise:              min_lr + ½(1 + cos(π r))(lr − min_lr),
//                           r = (it − warmup) / max(1, lr_decay_iters − warmup)
class WarmupCosineSchedule : public LrSchedule {
 public:
  // 0 <= min_lr <= lr (finite), 0 <= warmup_iters <= lr_decay_iters, else tlm::Error.
  WarmupCosineSchedule(double lr, double min_lr, int64_t warmup_iters, int64_t lr_decay_iters);
  double lr_at(int64_t it) const override;

 private:
  double lr_, min_lr_;
  int64_t warmup_iters_, lr_decay_iters_;
};

// The schedules selectable by name (the config key `schedule`): one nn::Registry (nn/registry.h)
// whose entries name their config keys (group "optimizer"). A new schedule is a class here (or
// a file pair of its own), its entry in the list of schedule.cpp:schedule_registry, its test.
struct ScheduleType {
  std::string name;            // the value of the config key `schedule`
  std::string help;            // one line
  std::vector<nn::EntryKey> keys;  // its keys beyond learning_rate
  std::function<std::unique_ptr<LrSchedule>(double lr, const nn::KeyValues& keys)> make;
  // Checks across keys (throw tlm::Error naming them), run by the config's validate(); may be
  // empty.
  std::function<void(double lr, const nn::KeyValues& keys)> check = {};
};
// "cosine" (the default: linear warmup, then cosine decay; WarmupCosineSchedule), "constant".
nn::Registry<ScheduleType>& schedule_registry();

// The schedule `name` with peak learning rate lr; the entry's keys missing from `keys` take
// their defaults (each checked against its range); an unknown name lists the allowed ones.
std::unique_ptr<LrSchedule> make_schedule(const std::string& name, double lr,
                                          const nn::KeyValues& keys);

// The typed form for code and tests: cosine's keys as fields ("constant" uses only lr).
struct ScheduleConfig {
  double lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_iters = 100;
  int64_t lr_decay_iters = 5000;
};
std::unique_ptr<LrSchedule> make_schedule(const std::string& name, const ScheduleConfig& cfg);
std::vector<std::string> schedule_names();

}  // namespace tlm::optim
