// Module: the base of every layer and model. It owns named parameters and child modules,
// so a model can list its parameters ("h.0.attn.c_attn.weight"), count them, switch
// train/eval mode, convert to float64 for gradient checks, and save/load a state dict.
//
//   class Linear : public Module {
//    public:
//     Linear(int64_t in, int64_t out, bool bias, Rng& rng) {
//       register_parameter("weight", weight, Tensor::randn({out, in}, rng, 0.02));
//       ...
//     }
//     Tensor weight;  // [out, in]
//   };
//
// Modules are neither copied nor moved (the registry points at their members): hold
// children as members or in std::unique_ptr.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"

namespace tlm::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its children, depth first, with dotted names.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;

  // Training mode (dropout active) or evaluation mode; applies to all children.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Converts every parameter to `dtype` (float64 for gradient checks), keeping requires_grad.
  void to(DType dtype);
  // Freezes (or unfreezes) every parameter: requires_grad off/on.
  void set_requires_grad(bool on);
  void zero_grad();

  // name -> tensor (the live parameters, not copies).
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in; names and shapes must match exactly, or the error lists what differs.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  // Registers a parameter member; returns the tensor (with requires_grad on) to assign.
  Tensor& register_parameter(const std::string& name, Tensor& member, Tensor value);
  void register_module(const std::string& name, Module& child);

 private:
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace tlm::nn
