#include "optim/optimizer.h"

#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/shape.h"

namespace tlm::optim {

std::vector<ParamGroup> default_param_groups(
    const std::vector<std::pair<std::string, Tensor>>& named_parameters, double weight_decay) {
  detail::check_non_negative("default_param_groups", "weight_decay", weight_decay);
  ParamGroup decay{{}, weight_decay, 1.0};
  ParamGroup no_decay{{}, 0.0, 1.0};
  for (const auto& [name, t] : named_parameters) {
    if (!t.defined() || !t.requires_grad()) continue;
    (t.dim() >= 2 ? decay : no_decay).params.emplace_back(name, t);
  }
  return {std::move(decay), std::move(no_decay)};
}

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, double lr,
                     std::vector<std::string> buffers)
    : name_(name), groups_(std::move(groups)), buffer_names_(std::move(buffers)) {
  set_lr(lr);
  std::set<std::string> names;
  std::set<const TensorImpl*> impls;
  state_.resize(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    const std::string where = fmt::format("{}: param group {}", name_, gi);
    detail::check_non_negative(where.c_str(), "weight_decay", g.weight_decay);
    detail::check_non_negative(where.c_str(), "lr_scale", g.lr_scale);
    for (const auto& [pname, t] : g.params) {
      TLM_CHECK(t.defined(), "{}: parameter '{}' is undefined", name_, pname);
      TLM_CHECK(is_floating(t.dtype()), "{}: parameter '{}' is {}, expected float32 or float64",
                name_, pname, t.str());
      TLM_CHECK(t.is_contiguous(),
                "{}: parameter '{}' {} must be contiguous (it is updated in place)", name_, pname,
                t.str());
      TLM_CHECK(names.insert(pname).second, "{}: parameter name '{}' appears twice", name_, pname);
      TLM_CHECK(impls.insert(t.impl().get()).second,
                "{}: parameter '{}' is the same tensor as another listed parameter (a "
                "tied weight must be listed once)",
                name_, pname);
      ParamState st;
      for (size_t b = 0; b < buffer_names_.size(); ++b)
        st.buffers.push_back(Tensor::zeros(t.shape(), t.dtype()));
      state_[gi].push_back(std::move(st));
    }
  }
}

void Optimizer::set_lr(double lr) {
  detail::check_lr(name(), lr);
  lr_ = lr;
}

void Optimizer::step(double grad_scale) {
  TLM_CHECK(std::isfinite(grad_scale) && grad_scale > 0,
            "{}: grad_scale = {} must be a finite number > 0", name(), grad_scale);
  NoGradGuard no_grad;
  std::vector<Update> updates;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& g = groups_[gi];
    const double lr = lr_ * g.lr_scale;
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      Tensor& p = g.params[pi].second;
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      TLM_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(),
                "{}: gradient {} of '{}' does not match the parameter {}", name(), grad.str(),
                g.params[pi].first, p.str());
      ParamState& st = state_[gi][pi];
      ++st.step;
      updates.push_back({p, grad, &st, lr, g.weight_decay});
    }
  }
  update_all(updates, grad_scale);
  ++step_;
}

void Optimizer::update_all(const std::vector<Update>& updates, double grad_scale) {
  for (const Update& u : updates) {
    Tensor param = u.param;
    const Tensor grad = grad_scale == 1.0 ? u.grad
                                          : kernels::binary(u.grad, Tensor::scalar(grad_scale, u.grad.dtype()),
                                                            kernels::Binary::Mul);
    update(param, grad, *u.state, u.lr, u.weight_decay);
  }
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& [name, p] : g.params) p.zero_grad();
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_)
    for (const auto& [name, p] : g.params) out.push_back(p);
  return out;
}

int64_t Optimizer::num_parameters() const {
  int64_t n = 0;
  for (const auto& g : groups_)
    for (const auto& [name, p] : g.params) n += p.numel();
  return n;
}

int64_t Optimizer::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& group : state_)
    for (const auto& st : group)
      for (const auto& b : st.buffers)
        bytes += b.numel() * static_cast<int64_t>(dtype_size(b.dtype()));
  return bytes;
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState out = state_view();
  for (auto& [name, t] : out.tensors) t = t.clone();
  return out;
}

OptimizerState Optimizer::state_view() const {
  OptimizerState out;
  out.scalars["lr"] = lr_;
  out.scalars["step"] = static_cast<double>(step_);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const std::string& pname = groups_[gi].params[pi].first;
      const ParamState& st = state_[gi][pi];
      out.scalars[pname + ".step"] = static_cast<double>(st.step);
      for (size_t b = 0; b < buffer_names_.size(); ++b)
        out.tensors[pname + "." + buffer_names_[b]] = st.buffers[b];
    }
  }
  return out;
}

namespace {
// A step count stored as a double: a whole number in [0, 2^53].
int64_t as_count(const char* opt, const std::string& key, double v) {
  TLM_CHECK(std::isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == std::floor(v),
            "{}: load_state_dict: '{}' = {} is not a step count (a whole number >= 0)", opt, key,
            v);
  return static_cast<int64_t>(v);
}
}  // namespace

void Optimizer::load_state_dict(const OptimizerState& state) {
  const OptimizerState mine = state_dict();  // the expected keys, shapes and dtypes
  for (const auto& [key, t] : mine.tensors) {
    auto it = state.tensors.find(key);
    TLM_CHECK(it != state.tensors.end(), "{}: load_state_dict: state tensor '{}' is missing",
              name(), key);
    TLM_CHECK(
        it->second.defined() && it->second.shape() == t.shape() && it->second.dtype() == t.dtype(),
        "{}: load_state_dict: state tensor '{}' is {} in the state, {} in the optimizer", name(),
        key, it->second.defined() ? it->second.str() : "undefined", t.str());
  }
  for (const auto& [key, t] : state.tensors)
    TLM_CHECK(mine.tensors.count(key),
              "{}: load_state_dict: unexpected state tensor '{}' (another optimizer?)", name(),
              key);
  for (const auto& [key, v] : mine.scalars)
    TLM_CHECK(state.scalars.count(key), "{}: load_state_dict: scalar '{}' is missing", name(), key);
  for (const auto& [key, v] : state.scalars)
    TLM_CHECK(mine.scalars.count(key), "{}: load_state_dict: unexpected scalar '{}'", name(), key);

  // Everything is validated before anything is written, so a refused state leaves this
  // optimizer unchanged.
  const double lr = state.scalars.at("lr");
  detail::check_lr(name(), lr);
  const int64_t step = as_count(name(), "step", state.scalars.at("step"));
  std::vector<std::vector<int64_t>> steps(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (const auto& [pname, p] : groups_[gi].params) {
      const std::string key = pname + ".step";
      steps[gi].push_back(as_count(name(), key, state.scalars.at(key)));
    }

  lr_ = lr;
  step_ = step;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      ParamState& st = state_[gi][pi];
      st.step = steps[gi][pi];
      const std::string& pname = groups_[gi].params[pi].first;
      for (size_t b = 0; b < buffer_names_.size(); ++b)
        st.buffers[b].copy_from(state.tensors.at(pname + "." + buffer_names_[b]));
    }
  }
}

namespace detail {

void check_lr(const char* opt, double lr) {
  TLM_CHECK(std::isfinite(lr) && lr >= 0,
            "{}: lr = {} is not allowed: it must be a finite number >= 0", opt, lr);
}

void check_unit_interval(const char* opt, const char* key, double value) {
  TLM_CHECK(std::isfinite(value) && value >= 0 && value < 1,
            "{}: {} = {} is outside the allowed range [0, 1)", opt, key, value);
}

void check_positive(const char* opt, const char* key, double value) {
  TLM_CHECK(std::isfinite(value) && value > 0,
            "{}: {} = {} is not allowed: it must be a finite number > 0", opt, key, value);
}

void check_non_negative(const char* opt, const char* key, double value) {
  TLM_CHECK(std::isfinite(value) && value >= 0,
            "{}: {} = {} is not allowed: it must be a finite number >= 0", opt, key, value);
}

}  // namespace detail

}  // namespace tlm::optim
