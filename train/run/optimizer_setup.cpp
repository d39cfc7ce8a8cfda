#include "train/run/optimizer_setup.h"

namespace tlm::train {

optim::OptimizerConfig optimizer_config(const TrainConfig& cfg) {
  return {.lr = cfg.learning_rate, .beta1 = cfg.beta1, .beta2 = cfg.beta2, .eps = cfg.eps,
          .momentum = cfg.momentum, .nesterov = false};
}

std::unique_ptr<optim::Optimizer> make_optimizer(
    const TrainConfig& cfg, const std::vector<std::pair<std::string, Tensor>>& named) {
  return optim::make_optimizer(cfg.optimizer, optim::default_param_groups(named, cfg.weight_decay),
                               optimizer_config(cfg));
}

std::string schedule_name(const TrainConfig& cfg) {
  return cfg.schedule == "cosine" ? "warmup_cosine" : cfg.schedule;
}

std::unique_ptr<optim::LrSchedule> make_schedule(const TrainConfig& cfg) {
  return optim::make_schedule(schedule_name(cfg), {.lr = cfg.learning_rate, .min_lr = cfg.min_lr,
                                                   .warmup_iters = cfg.warmup_iters,
                                                   .lr_decay_iters = cfg.lr_decay_iters});
}

}  // namespace tlm::train
