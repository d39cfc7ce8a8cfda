#include "train/run/train_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/storage.h"

namespace tlm::train {

TrainStep::TrainStep(TrainStepOptions options, optim::Optimizer& optimizer,
                     const GradientPipeline& pipeline)
    : options_(std::move(options)), optimizer_(optimizer), pipeline_(pipeline) {
  TLM_CHECK(options_.accumulation >= 1, "TrainStep: accumulation = {} must be >= 1",
            options_.accumulation);
}

StepResult TrainStep::run(int64_t step, double lr, const MicroBatchFn& micro_batch,
                          const std::function<bool()>& stop_requested) {
  optimizer_.set_lr(lr);
  optimizer_.zero_grad();
  const int64_t accum = options_.accumulation;
  optim::LossScaler* scaler = pipeline_.scaler();
  StepResult r;
  PrecisionGuard amp(options_.precision);  // matmuls, saved activations and their gradients
  auto skipped = [&](const GradDecision& d) {
    optimizer_.zero_grad();
    r.applied = false;
    r.skipped_by_scaler = d.action == GradDecision::Action::SkipOverflow;
    r.loss = NAN;
    r.skip_reason = d.reason;
    r.stop_requested = d.stop_requested;
    r.allreduce_ms = d.allreduce_ms, r.wait_ms = d.wait_ms;
    r.precision = amp.stats();
    return r;
  };
  double loss_sum = 0;
  for (int64_t micro = 0; micro < accum; ++micro) {
    LossFn compute_loss = micro_batch(micro);
    const int64_t bytes_before = memory_stats().current_bytes;
    Tensor loss = compute_loss();
    // what the graph holds for backward (saved activations, logits): 16-bit halves it
    r.activation_bytes = std::max(r.activation_bytes, memory_stats().current_bytes - bytes_before);
    if (options_.faults && options_.faults->nan_loss_at(step)) loss = mul(loss, NAN);
    const double value = loss.item();
    // N ranks: every rank goes on to the all-reduce; the mean loss decides there, on all ranks.
    if (!pipeline_.distributed() && !std::isfinite(value))
      return skipped(pipeline_.non_finite(
          fmt::format("the loss is {} (micro-batch {})", value, micro), step));
    loss_sum += value;
    if (!loss.requires_grad()) continue;  // the function set the gradients itself
    if (accum > 1) loss = mul(loss, 1.0 / static_cast<double>(accum));
    if (scaler) loss.backward(Tensor::full(loss.shape(), scaler->scale(), loss.dtype()));
    else loss.backward();
  }
  const GradDecision d =
      pipeline_.run(optimizer_.parameters(), loss_sum, accum,
                    stop_requested && stop_requested(), step);
  if (!d.apply()) return skipped(d);
  if (options_.before_update) options_.before_update(d);
  optimizer_.step(d.clip);
  r.applied = true;
  r.loss = d.loss;
  r.grad_norm = d.grad_norm;
  r.stop_requested = d.stop_requested;
  r.allreduce_ms = d.allreduce_ms, r.wait_ms = d.wait_ms;
  r.precision = amp.stats();
  return r;
}

}  // namespace tlm::train
