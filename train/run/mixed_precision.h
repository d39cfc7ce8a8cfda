// The training loop's side of mixed precision (docs/methods.md, "bf16 and fp16", "Loss scaling"):
// the fp16 loss scaler a config describes (the precision itself is cfg.precision, typed), and the per-step statistics the log
// shows.
//
//   Precision p = cfg.precision;                       // precision = fp32 | bf16 | fp16 (typed)
//   std::unique_ptr<optim::LossScaler> s = make_loss_scaler(cfg);  // fp16 only, else null
#pragma once

#include <memory>

#include "autograd/precision.h"
#include "optim/loss_scaler.h"
#include "train/io/config.h"

namespace tlm::train {

// The scaler of precision = fp16 (loss_scale = dynamic, or a static number); null otherwise.
std::unique_ptr<optim::LossScaler> make_loss_scaler(const TrainConfig& cfg);

}  // namespace tlm::train
