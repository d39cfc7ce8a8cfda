// One training step, shared by `tlm train` (Trainer), `tlm diag grads` (train/diag/diag.h)
// and `tlm task` (train/tasks/tasks.h):
//   lr from the caller -> zero the gradients -> for each of `accumulation` micro-batches: draw
//   it, forward and loss under the precision policy, backward of loss / accumulation (times the
//   fp16 loss scale; gradients accumulate) -> the gradient pipeline (grad_pipeline.h: all-reduce,
//   unscale or skip, finite check, clip) -> the optimizer's update, or none for a skipped step.
//
//   TrainStep step({.accumulation = 2, .precision = Precision::BF16}, *optimizer, pipeline);
//   StepResult r = step.run(it, schedule->lr_at(it), [&](int64_t micro) {
//     Batch b = data.sample_batch(Split::Train, B, T, data_rng);      // drawn first
//     return [&, b] { return nn::lm_loss("ce", model.forward(b.x, dropout_rng), b.y, {}); };
//   });
//   // r.applied, r.loss (mean over micro-batches), r.grad_norm, r.skip_reason, ...
//
// The micro-batch function draws its data and returns the function that computes its loss, so
// the activation memory (what the graph holds after forward + loss, before backward) is
// measured without the batch itself. A loss that requires no gradient means the function set
// the gradients itself (multi-task weighting in gradient space, train/tasks/): its value is
// reported and nothing is backpropagated.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "autograd/precision.h"
#include "optim/optimizer.h"
#include "tensor/tensor.h"
#include "train/run/faults.h"
#include "train/run/grad_pipeline.h"

namespace tlm::train {

struct TrainStepOptions {
  int64_t accumulation = 1;                // micro-batches per step
  Precision precision = Precision::F32;    // the policy of every forward and backward
  const Faults* faults = nullptr;          // test hooks (train/run/faults.h); null = none
  // Called after the pipeline decided to apply the update and before it is applied: the
  // gradients are final (averaged, unscaled, not yet clipped). `tlm diag grads` reads them here.
  std::function<void(const GradDecision&)> before_update = nullptr;
};

struct StepResult {
  bool applied = false;
  bool skipped_by_scaler = false;  // fp16: the gradients overflowed (not a NaN step)
  double loss = NAN;               // mean over micro-batches (and ranks); NaN when skipped
  double grad_norm = NAN;          // before clipping
  std::string skip_reason;         // empty when applied
  bool stop_requested = false;     // ranks > 1: some rank saw Ctrl-C
  double allreduce_ms = 0, wait_ms = 0;
  PrecisionStats precision;        // what the 16-bit rounding did in this step
  int64_t activation_bytes = 0;    // max over micro-batches: held after forward + loss
};

class TrainStep {
 public:
  // Computes one micro-batch's loss (0-D) from the batch its MicroBatchFn drew.
  using LossFn = std::function<Tensor()>;
  // Draws micro-batch `micro` (0-based within the step) and returns its LossFn.
  using MicroBatchFn = std::function<LossFn(int64_t micro)>;

  // optimizer and pipeline outlive the step.
  TrainStep(TrainStepOptions options, optim::Optimizer& optimizer, const GradientPipeline& pipeline);

  // One optimizer step at learning rate `lr`; `step` (0-based) names it in errors and faults.
  // `stop_requested` (optional): this rank's Ctrl-C flag, read after the last backward and
  // shared over ranks by the pipeline.
  StepResult run(int64_t step, double lr, const MicroBatchFn& micro_batch,
                 const std::function<bool()>& stop_requested = {});

 private:
  TrainStepOptions options_;
  optim::Optimizer& optimizer_;
  const GradientPipeline& pipeline_;
};

}  // namespace tlm::train
