// Optimizer: the base of SGD, AdamW and Lion. It updates parameter groups in place from
// their accumulated gradients, and owns the per-parameter state (moments, step counts).
//
//   auto groups = optim::default_param_groups(model.named_parameters(), /*weight_decay=*/0.1);
//   auto opt = optim::make_optimizer("adamw", groups, {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99});
//   for (int64_t it = 0; it < iters; ++it) {
//     opt->set_lr(schedule->lr_at(it));
//     opt->zero_grad();
//     loss_fn().backward();
//     optim::clip_grad_norm(opt->parameters(), 1.0);
//     opt->step();
//     // or, the same update without the clipping's own pass over the gradients:
//     //   double norm = optim::grad_norm(opt->parameters());
//     //   opt->step(optim::clip_coefficient(norm, 1.0));
//   }
//
// The optimizer holds handles to the parameter tensors: build it after `Module::to(dtype)`
// (which replaces them), and keep the model alive while it is used.
//
// State is allocated when the optimizer is built (zero buffers of the parameter's shape and
// dtype), so state_bytes() is known before the first step and memory never grows in the loop.
// Each parameter keeps its own step count, as torch.optim does, so a parameter that received
// no gradient at some step has its bias corrections counted from its own first update.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::optim {

// Parameters that share a weight decay and a learning-rate multiplier.
struct ParamGroup {
  std::vector<std::pair<std::string, Tensor>> params;  // names are unique across all groups
  double weight_decay = 0;
  double lr_scale = 1;  // this group's lr = optimizer lr * lr_scale
};

// nanoGPT's grouping: tensors with dim >= 2 (matmul weights, embeddings) in group 0 with
// `weight_decay`, the rest (biases, norm gains) in group 1 with weight decay 0. Parameters that
// do not require grad (a frozen backbone) are left out, so they get no optimizer state.
std::vector<ParamGroup> default_param_groups(
    const std::vector<std::pair<std::string, Tensor>>& named_parameters, double weight_decay);

// A snapshot of the optimizer: tensors are copies ("<param>.<buffer>", e.g.
// "h.0.attn.c_attn.weight.exp_avg"), scalars hold "lr", "step" (optimizer steps taken) and
// "<param>.step" (updates that parameter received).
struct OptimizerState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient; parameters without one (grad()
  // undefined: unused this step, or frozen) are skipped and keep their state unchanged.
  // grad_scale: the update uses grad_scale * g for every gradient g and leaves the gradients
  // as they are (a clipping factor from clip_coefficient; must be finite and > 0).
  void step(double grad_scale = 1.0);
  // Drops every parameter's gradient (PyTorch's set_to_none=True, as nanoGPT uses). Why not
  // fill with 0: the engine's first accumulation into an empty gradient is a copy, cheaper than
  // add-into-zeros, and an undefined gradient is what tells step() that a parameter received no
  // gradient this iteration (a zero-filled one would still get decay and momentum).
  void zero_grad();

  void set_lr(double lr);  // the base lr; a group uses lr() * lr_scale
  double lr() const { return lr_; }
  int64_t step_count() const { return step_; }

  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  std::vector<Tensor> parameters() const;  // every parameter of every group, in order
  int64_t num_parameters() const;          // total element count

  // Exact round trip: load_state_dict(state_dict()) on an optimizer over the same parameter
  // names and shapes makes its subsequent updates bit-identical to this one's.
  OptimizerState state_dict() const;
  // The same names and scalars, but each tensor shares its buffer's storage (no copy): what a
  // checkpoint writer needs, without the copy that would add the whole state (AdamW: twice the
  // parameters' bytes) to the peak memory at every save. It follows later steps, so use it
  // before the next step() and keep state_dict() for a snapshot.
  OptimizerState state_view() const;
  // Names, shapes and dtypes must match exactly; the error names what differs.
  void load_state_dict(const OptimizerState& state);
  // Bytes of optimizer state (AdamW: 2 buffers per parameter, Lion 1, SGD 1 with momentum).
  int64_t state_bytes() const;
  // The per-parameter state buffers ("exp_avg", ...): AdamW 2, Lion 1, SGD 1 (0 without
  // momentum). state_bytes() = buffers_per_parameter() * num_parameters() * element size.
  const std::vector<std::string>& buffer_names() const { return buffer_names_; }
  int64_t buffers_per_parameter() const { return static_cast<int64_t>(buffer_names_.size()); }

  const char* name() const { return name_; }  // "sgd", "adamw", "lion"

 protected:
  // `buffers` names the per-parameter state tensors this optimizer keeps ("exp_avg", ...).
  Optimizer(const char* name, std::vector<ParamGroup> groups, double lr,
            std::vector<std::string> buffers);

  struct ParamState {
    std::vector<Tensor> buffers;  // one per buffer name, each shaped like the parameter
    int64_t step = 0;             // updates this parameter has received
  };
  // Updates one parameter in place; st.step has already been incremented (so it is >= 1).
  virtual void update(Tensor& param, const Tensor& grad, ParamState& st, double lr,
                      double weight_decay) = 0;
  // One step's updates, all together. The default scales each gradient (into a copy) when
  // grad_scale != 1 and calls update() on each; AdamW and Lion override it with one fused pass
  // over every parameter (kernels::adamw_step_many), which applies grad_scale in the update.
  struct Update {
    Tensor param, grad;
    ParamState* state;
    double lr, weight_decay;
  };
  virtual void update_all(const std::vector<Update>& updates, double grad_scale);

 private:
  const char* name_;
  std::vector<ParamGroup> groups_;
  std::vector<std::string> buffer_names_;
  std::vector<std::vector<ParamState>> state_;  // [group][param]
  double lr_ = 0;
  int64_t step_ = 0;
};

namespace detail {
// Shared hyperparameter checks: "<optimizer>: <key> = <value> ..., allowed <range>".
void check_lr(const char* opt, double lr);
void check_unit_interval(const char* opt, const char* key, double value);  // [0, 1)
void check_positive(const char* opt, const char* key, double value);       // > 0, finite
void check_non_negative(const char* opt, const char* key, double value);   // >= 0, finite
}  // namespace detail

}  // namespace tlm::optim
