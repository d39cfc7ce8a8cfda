// The optimizer and learning-rate schedule a TrainConfig describes, built in this one place
// for `tlm train` (Trainer), `tlm diag grads`, `tlm task` and `tlm info`.
//
//   auto opt = make_optimizer(cfg, model.named_parameters());  // optimizer, its keys, weight decay
//   auto sched = make_schedule(cfg);                            // schedule, its keys
//   opt->set_lr(sched->lr_at(step));
//
// Each reads its entry's keys from cfg.entry_values (the registries name them), so an optimizer
// or schedule added to its registry needs no change here.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "optim/optimizer.h"
#include "optim/registry.h"
#include "optim/schedule.h"
#include "train/io/config.h"

namespace tlm::train {

// cfg.optimizer over `named` parameters in the default groups (weight_decay on matrices only).
std::unique_ptr<optim::Optimizer> make_optimizer(
    const TrainConfig& cfg, const std::vector<std::pair<std::string, Tensor>>& named);

// cfg.schedule at peak learning_rate (cosine: linear warmup over warmup_iters, then cosine
// decay to min_lr at lr_decay_iters).
std::unique_ptr<optim::LrSchedule> make_schedule(const TrainConfig& cfg);

}  // namespace tlm::train
