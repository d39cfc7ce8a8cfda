#include "train/run/mixed_precision.h"

namespace tlm::train {

std::unique_ptr<optim::LossScaler> make_loss_scaler(const TrainConfig& cfg) {
  if (cfg.precision != Precision::F16) return nullptr;
  optim::LossScalerOptions o;
  o.dynamic = cfg.loss_scale_is_dynamic();
  o.init_scale = o.dynamic ? cfg.loss_scale_init : parse_loss_scale(cfg.loss_scale);
  TLM_CHECK(o.init_scale > 0, "config: loss_scale = {} is not 'dynamic' or a positive finite "
            "number (allowed: dynamic, or a number > 0 such as 1024; 1 = no scaling)",
            cfg.loss_scale);
  o.growth_factor = cfg.loss_scale_growth;
  o.growth_interval = cfg.loss_scale_interval;
  o.backoff_factor = cfg.loss_scale_backoff;
  o.min_scale = cfg.loss_scale_min;
  return std::make_unique<optim::LossScaler>(o);
}

}  // namespace tlm::train
