// The gradient pipeline of one optimizer step: what happens between the last backward and the
// update, in this order.
//   1. all-reduce (ranks > 1): the mean loss and the Ctrl-C flag over ranks, then the gradients
//      g = (1/N) sum_r g_r (GradientBuckets); from here on every rank sees the same numbers and
//      takes the same branch.
//   2. fp16 loss scaling: a step whose scaled gradients overflowed is skipped and the scale
//      lowered; otherwise the gradients are unscaled in fp32.
//   3. finite check: a NaN or inf loss or gradient norm stops the run (nan_policy = stop: an
//      error naming the step and the first bad tensor) or skips the step (nan_policy = skip).
//   4. clip: torch's clip_grad_norm_ as the factor min(1, max_norm / (|g| + 1e-6)) that the
//      update applies to each gradient it reads (Optimizer::step(grad_scale)).
// It returns a decision: apply (with the clip factor) or skip (with the reason); the caller
// (TrainStep, train_step.h) zeroes the gradients of a skipped step.
//
//   GradientPipeline pipe({.grad_clip = 1.0, .nan_policy = NanPolicy::Skip}, named_params);
//   GradDecision d = pipe.run(params, loss_sum, micro_batches, /*stop_requested=*/false, step);
//   if (d.apply()) opt.step(d.clip);
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "optim/loss_scaler.h"
#include "tensor/tensor.h"
#include "train/dist/distributed.h"
#include "train/dist/grad_buckets.h"
#include "train/io/run_choices.h"

namespace tlm::train {

struct GradDecision {
  enum class Action { Apply, SkipNonFinite, SkipOverflow };
  Action action = Action::Apply;
  double loss = NAN;          // the step's mean training loss (over micro-batches and ranks)
  double grad_norm = NAN;     // the global gradient norm before clipping (when applied)
  double clip = 1;            // the factor the update applies to every gradient
  std::string reason;         // why the step is skipped; empty when applied
  bool stop_requested = false;  // ranks > 1: some rank saw Ctrl-C by this step
  double allreduce_ms = 0;    // ranks > 1: the gradient all-reduce
  double wait_ms = 0;         // ranks > 1: waiting for the slowest rank
  bool apply() const { return action == Action::Apply; }
};

struct GradPipelineOptions {
  double grad_clip = 0;             // max global norm; 0 = no clipping
  NanPolicy nan_policy = NanPolicy::Stop;  // stop | skip (the config key)
};

class GradientPipeline {
 public:
  // `named`: the trained parameters, named, to name the first non-finite gradient in an error.
  // world / buckets (ranks > 1) and scaler (precision = fp16) are optional and outlive this.
  GradientPipeline(GradPipelineOptions options, std::vector<std::pair<std::string, Tensor>> named,
                   Distributed* world = nullptr, GradientBuckets* buckets = nullptr,
                   optim::LossScaler* scaler = nullptr);

  // After backward: `params` hold the (scaled) gradients of this rank's `micro_batches`
  // micro-batches, whose losses sum to `loss_sum`. Throws under nan_policy = stop.
  GradDecision run(const std::vector<Tensor>& params, double loss_sum, int64_t micro_batches,
                   bool stop_requested, int64_t step) const;

  // A non-finite loss seen before the all-reduce (one rank only: with ranks > 1 every rank goes
  // on to the all-reduce and the mean loss decides): stop (throws) or skip, as in run().
  GradDecision non_finite(const std::string& what, int64_t step) const;

  bool distributed() const { return world_ && world_->active(); }
  optim::LossScaler* scaler() const { return scaler_; }

 private:
  GradPipelineOptions options_;
  std::vector<std::pair<std::string, Tensor>> named_;
  Distributed* world_;
  GradientBuckets* buckets_;
  optim::LossScaler* scaler_;
};

}  // namespace tlm::train
