#include "train/launch/optimizer_setup.h"

namespace tlm::train {

std::unique_ptr<optim::Optimizer> make_optimizer(
    const TrainConfig& cfg, const std::vector<std::pair<std::string, Tensor>>& named) {
  return optim::make_optimizer(cfg.optimizer, optim::default_param_groups(named, cfg.weight_decay),
                               cfg.learning_rate, cfg.entry_values);
}

std::unique_ptr<optim::LrSchedule> make_schedule(const TrainConfig& cfg) {
  return optim::make_schedule(cfg.schedule, cfg.learning_rate, cfg.entry_values);
}

}  // namespace tlm::train
