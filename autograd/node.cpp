#include "autograd/node.h"

#include "autograd/grad_mode.h"
#include "autograd/precision.h"
#include "tensor/kernels/elementwise.h"

namespace tlm {

namespace {
thread_local bool t_grad_enabled = true;
thread_local uint64_t t_next_sequence = 0;
}  // namespace

bool GradMode::enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool on) { t_grad_enabled = on; }

namespace autograd {

SavedTensor::SavedTensor(Node* owner, Format format) : owner_(owner), format_(format) {
  owner->saved_.push_back(this);
}

void SavedTensor::save(const Tensor& t) {
  version_ = t.defined() ? t.version() : 0;
  saved_ = true;
  PrecisionGuard* guard = format_ == Format::Policy ? current_precision_guard() : nullptr;
  if (guard && guard->precision() != Precision::F32 && t.defined() && t.dtype() == DType::F32) {
    data_ = guard->store(t);
    source_ = t.impl()->storage;
    return;
  }
  data_ = t.defined() ? t.detach() : Tensor();
}

Tensor SavedTensor::get() const {
  TLM_CHECK(!owner_->released(),
            "{} backward: its saved tensors were freed by an earlier backward pass; run the "
            "forward pass again before calling backward a second time", owner_->name());
  if (data_.defined() && is_half(data_.dtype())) {
    auto source = source_.lock();  // dead: nobody can have written to it since
    TLM_CHECK(!source || source->version() == version_,
              "{} backward: a tensor saved for backward was modified in place (version {} -> {})",
              owner_->name(), version_, source->version());
    return data_.to(DType::F32);
  }
  TLM_CHECK(!data_.defined() || data_.version() == version_,
            "{} backward: a tensor saved for backward was modified in place (version {} -> {})",
            owner_->name(), version_, data_.version());
  return data_;
}

void Node::release_saved() {
  for (SavedTensor* s : saved_) s->release();
  released_ = true;
}

Node::~Node() {
  // Destroying the last handle of a long chain would recurse once per node. Instead, move
  // the children we hold the last reference to onto an explicit stack, emptying their own
  // `next` before they die, so every destructor returns immediately.
  std::vector<std::shared_ptr<Node>> stack;
  for (auto& n : next)
    if (n && n.use_count() == 1) stack.push_back(std::move(n));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    for (auto& c : n->next)
      if (c && c.use_count() == 1) stack.push_back(std::move(c));
    n->next.clear();
  }
}

std::vector<Tensor> AccumulateGrad::backward(const Tensor& g) {
  auto leaf = leaf_.lock();
  if (!leaf) return {};
  if (!leaf->grad) {
    // The incoming gradient may alias another tensor (a view, or another leaf's gradient):
    // then the leaf gets a fresh copy. When nothing else holds its handle or its storage
    // (the usual case: a product's output), the leaf takes it as it is, saving a copy of
    // every parameter's gradient on every step.
    if (owns_its_buffer(g)) {
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = g.impl()->storage;
      impl->shape = g.shape();
      impl->strides = g.strides();
      impl->dtype = g.dtype();
      leaf->grad = std::move(impl);
    } else {
      leaf->grad = g.clone().impl();
    }
  } else {
    Tensor acc(leaf->grad);
    kernels::binary_(acc, g, kernels::Binary::Add);
  }
  return {};
}

bool owns_its_buffer(const Tensor& g) {
  return g.defined() && g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1 &&
         g.is_contiguous() && g.offset() == 0 && !g.requires_grad();
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

namespace {
std::shared_ptr<Node> producer(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  return std::make_shared<AccumulateGrad>(t);
}
}  // namespace

void record(const std::shared_ptr<Node>& node, Tensor& output,
            std::initializer_list<const Tensor*> inputs) {
  node->sequence = t_next_sequence++;
  for (const Tensor* t : inputs) {
    node->next.push_back(producer(*t));
    node->input_shapes.push_back(t->defined() ? t->shape() : Shape{});
  }
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = node;
}

void record(const std::shared_ptr<Node>& node, Tensor& output, const std::vector<Tensor>& inputs) {
  node->sequence = t_next_sequence++;
  for (const Tensor& t : inputs) {
    node->next.push_back(producer(t));
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = node;
}

}  // namespace autograd
}  // namespace tlm
