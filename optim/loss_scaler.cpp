#include "optim/loss_scaler.h"

#include <algorithm>
#include <cmath>

#include "tensor/kernels/elementwise.h"

namespace tlm::optim {

namespace {
constexpr double kMaxScale = 18446744073709551616.0;  // 2^64: growth stops here
}

LossScaler::LossScaler(const LossScalerOptions& o) : options_(o), scale_(o.init_scale) {
  auto positive = [](double v, const char* key, const char* allowed) {
    TLM_CHECK(std::isfinite(v) && v > 0, "loss scaler: {} = {} must be a positive finite number "
              "(allowed: {})", key, v, allowed);
  };
  positive(o.init_scale, o.dynamic ? "loss_scale_init" : "loss_scale", "> 0");
  positive(o.min_scale, "loss_scale_min", "> 0, at most loss_scale_init");
  positive(o.growth_factor, "loss_scale_growth", "> 1");
  positive(o.backoff_factor, "loss_scale_backoff", "0 < backoff < 1");
  TLM_CHECK(o.growth_factor > 1, "loss scaler: loss_scale_growth = {} must be > 1 (allowed: > 1)",
            o.growth_factor);
  TLM_CHECK(o.backoff_factor < 1, "loss scaler: loss_scale_backoff = {} must be < 1 (allowed: "
            "0 < backoff < 1)", o.backoff_factor);
  TLM_CHECK(o.growth_interval >= 1, "loss scaler: loss_scale_interval = {} must be >= 1 "
            "(allowed: >= 1)", o.growth_interval);
  TLM_CHECK(!o.dynamic || o.min_scale <= o.init_scale, "loss scaler: loss_scale_min = {} exceeds "
            "loss_scale_init = {} (allowed: loss_scale_min <= loss_scale_init)", o.min_scale,
            o.init_scale);
  TLM_CHECK(o.init_scale <= kMaxScale, "loss scaler: {} = {} exceeds 2^64 (allowed: <= 2^64)",
            o.dynamic ? "loss_scale_init" : "loss_scale", o.init_scale);
}

bool LossScaler::update(bool found_inf, int64_t step) {
  if (found_inf) {
    ++skipped_;
    good_ = 0;
    if (options_.dynamic) {
      TLM_CHECK(scale_ > options_.min_scale,
                "train: step {}: the fp16 gradients overflowed (inf/NaN) with the loss scale "
                "already at loss_scale_min = {} ({} steps skipped so far); stopping instead of "
                "skipping forever. The model or learning rate produces values fp16 cannot hold: "
                "try precision = bf16, a lower learning_rate, or a smaller loss_scale_min",
                step, options_.min_scale, skipped_);
      scale_ = std::max(scale_ * options_.backoff_factor, options_.min_scale);
    }
    return false;
  }
  ++good_;
  if (options_.dynamic && good_ >= options_.growth_interval) {
    scale_ = std::min(scale_ * options_.growth_factor, kMaxScale);
    good_ = 0;
  }
  return true;
}

void LossScaler::unscale(const std::vector<Tensor>& params) const {
  if (scale_ == 1.0) return;
  const double inv = 1.0 / scale_;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) kernels::binary_(g, Tensor::scalar(inv, g.dtype()), kernels::Binary::Mul);
  }
}

std::map<std::string, double> LossScaler::state_dict() const {
  return {{"scale", scale_},
          {"good_steps", static_cast<double>(good_)},
          {"skipped_steps", static_cast<double>(skipped_)}};
}

void LossScaler::load_state_dict(const std::map<std::string, double>& state) {
  for (const char* k : {"scale", "good_steps", "skipped_steps"})
    TLM_CHECK(state.count(k), "loss scaler: the saved state has no '{}'", k);
  const double s = state.at("scale");
  TLM_CHECK(std::isfinite(s) && s > 0, "loss scaler: the saved scale {} is not a positive finite "
            "number", s);
  scale_ = options_.dynamic ? s : options_.init_scale;  // a static scale comes from the config
  good_ = static_cast<int64_t>(state.at("good_steps"));
  skipped_ = static_cast<int64_t>(state.at("skipped_steps"));
}

}  // namespace tlm::optim
