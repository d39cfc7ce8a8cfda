#include "nn/module.h"

#include <set>

namespace tlm::nn {

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  // Iterative depth-first walk (deep models have thousands of modules).
  std::vector<std::pair<std::string, const Module*>> stack{{"", this}};
  std::set<const TensorImpl*> seen;  // a tied weight is listed once
  while (!stack.empty()) {
    auto [prefix, m] = stack.back();
    stack.pop_back();
    for (const auto& [name, t] : m->params_)
      if (t->defined() && seen.insert(t->impl().get()).second) out.emplace_back(prefix + name, *t);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(prefix + it->first + ".", it->second);
  }
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(DType dtype) {
  // Tied parameters share one impl: convert each impl once and re-point every member at it.
  std::map<const TensorImpl*, Tensor> converted;
  std::vector<std::pair<std::string, Module*>> stack{{"", this}};
  while (!stack.empty()) {
    Module* m = stack.back().second;
    stack.pop_back();
    for (auto& [name, t] : m->params_) {
      if (!t->defined()) continue;
      auto key = t->impl().get();
      auto it = converted.find(key);
      if (it == converted.end()) {
        bool rg = t->requires_grad();
        Tensor c = t->to(dtype).detach();
        if (c.same_storage(*t)) c = c.clone();
        c.set_requires_grad(rg);
        it = converted.emplace(key, c).first;
      }
      *t = it->second;
    }
    for (auto& [name, child] : m->children_) stack.emplace_back(name, child);
  }
}

void Module::set_requires_grad(bool on) {
  for (auto& [name, t] : named_parameters()) Tensor(t).set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) Tensor(t).zero_grad();
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : named_parameters()) out[name] = t;
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state) {
  auto mine = state_dict();
  for (const auto& [name, t] : mine) {
    auto it = state.find(name);
    TLM_CHECK(it != state.end(), "load_state_dict: parameter '{}' is missing", name);
    TLM_CHECK(it->second.shape() == t.shape(), "load_state_dict: parameter '{}' has shape {} in "
              "the state, {} in the model", name, shape_str(it->second.shape()), shape_str(t.shape()));
  }
  for (const auto& [name, t] : state)
    TLM_CHECK(mine.count(name), "load_state_dict: unexpected parameter '{}'", name);
  NoGradGuard no_grad;
  for (auto& [name, t] : mine) Tensor(t).copy_from(state.at(name));
}

Tensor& Module::register_parameter(const std::string& name, Tensor& member, Tensor value) {
  member = std::move(value);
  if (member.defined() && !member.requires_grad()) member.set_requires_grad(true);
  params_.emplace_back(name, &member);
  return member;
}

void Module::register_module(const std::string& name, Module& child) {
  children_.emplace_back(name, &child);
}

}  // namespace tlm::nn
