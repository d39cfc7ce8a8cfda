#include "train/run/grad_pipeline.h"

#include <fmt/format.h>

#include <chrono>

#include "optim/clip.h"
#include "tensor/error.h"

namespace tlm::train {

GradientPipeline::GradientPipeline(GradPipelineOptions options,
                                   std::vector<std::pair<std::string, Tensor>> named,
                                   Distributed* world, GradientBuckets* buckets,
                                   optim::LossScaler* scaler)
    : options_(std::move(options)), named_(std::move(named)), world_(world), buckets_(buckets),
      scaler_(scaler) {
  TLM_CHECK(options_.nan_policy == NanPolicy::Stop || options_.nan_policy == NanPolicy::Skip,
            "config: nan_policy = {} (allowed: stop, skip)", static_cast<int>(options_.nan_policy));
  TLM_CHECK(!distributed() || buckets_, "GradientPipeline: ranks > 1 need gradient buckets");
}

GradDecision GradientPipeline::non_finite(const std::string& what, int64_t step) const {
  const bool skip = options_.nan_policy == NanPolicy::Skip;
  if (!skip && world_) world_->mark_collective_error();  // decided on reduced values
  TLM_CHECK(skip,
            "train: {} at step {}; stopping without saving (the last checkpoint is intact; "
            "nan_policy = skip would skip such steps)", what, step);
  GradDecision d;
  d.action = GradDecision::Action::SkipNonFinite;
  d.reason = what;
  return d;
}

GradDecision GradientPipeline::run(const std::vector<Tensor>& params, double loss_sum,
                                   int64_t micro_batches, bool stop_requested, int64_t step) const {
  GradDecision d;
  d.stop_requested = stop_requested;
  if (distributed()) {
    // The small all-reduce comes first: it is where a rank waits for the slowest one (wait_ms),
    // so allreduce_ms is the gradient all-reduce itself.
    auto t0 = std::chrono::steady_clock::now();
    double shared[2] = {loss_sum, stop_requested ? 1.0 : 0.0};
    world_->allreduce_sum(shared, 2);
    auto t1 = std::chrono::steady_clock::now();
    buckets_->average(*world_);
    d.wait_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    d.allreduce_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    loss_sum = shared[0] / static_cast<double>(world_->size());
    d.stop_requested = shared[1] > 0;
    if (!std::isfinite(loss_sum)) {
      GradDecision s = non_finite(
          fmt::format("the loss is {} (mean over {} ranks)", loss_sum, world_->size()), step);
      s.stop_requested = d.stop_requested, s.allreduce_ms = d.allreduce_ms, s.wait_ms = d.wait_ms;
      return s;
    }
  }
  d.loss = loss_sum / static_cast<double>(micro_batches);
  if (scaler_) {
    // fp16: a step whose scaled gradients overflowed is skipped and the scale lowered; else
    // the gradients are unscaled in fp32 before clipping and the update.
    const double scale = scaler_->scale();
    if (!scaler_->update(!optim::grads_finite(params), step)) {
      d.action = GradDecision::Action::SkipOverflow;
      d.reason = fmt::format("fp16 gradients overflowed at loss scale {} (now {}; {} "
                             "skipped by loss scaling so far)", scale, scaler_->scale(),
                             scaler_->skipped_steps());
      return d;
    }
    scaler_->unscale(params);
  }
  d.grad_norm = optim::grad_norm(params);
  if (!std::isfinite(d.grad_norm)) {
    std::string what = fmt::format("the gradient norm is {}", d.grad_norm);
    try {
      optim::check_grads_finite(named_);  // names the first bad tensor
    } catch (const Error& e) {
      what += fmt::format(" ({})", e.what());
    }
    GradDecision s = non_finite(what, step);
    s.loss = d.loss, s.stop_requested = d.stop_requested;
    s.allreduce_ms = d.allreduce_ms, s.wait_ms = d.wait_ms;
    return s;
  }
  // Clipping by the global norm as a factor the update applies to each gradient it reads,
  // rather than a pass of its own that rewrites the gradients.
  d.clip = options_.grad_clip > 0 ? optim::clip_coefficient(d.grad_norm, options_.grad_clip) : 1.0;
  return d;
}

}  // namespace tlm::train
