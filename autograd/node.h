// Node: one recorded op of the backward graph.
//
// An op that needs gradients creates a Node subclass holding what its backward needs (saved
// tensors as named SavedTensor members, plain values such as shapes and axes), and links it
// to the producers of its inputs with record(). The engine calls backward() once with the
// gradient of the op's output and routes the returned input gradients along `next`.
//
//   // y = exp(x), dy/dx = y
//   struct ExpBackward : Node {
//     SavedTensor y{this};
//     const char* name() const override { return "exp"; }
//     std::vector<Tensor> backward(const Tensor& g) override { return {mul(g, y.get())}; }
//   };
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::autograd {

class Node;

// A tensor kept for backward. It stores a detached alias (no history, so a saved output
// does not keep its own node alive) and the storage version at save time, and refuses to
// hand back data that was modified in place since, or freed by an earlier backward pass.
// Under a bf16/fp16 precision scope (autograd/precision.h) a float32 tensor is stored as a
// 16-bit copy instead and get() returns it decoded to float32 (the in-place check then uses
// the original's storage while it lives); Format::Fp32 opts out (statistics, masks, losses).
class SavedTensor {
 public:
  enum class Format { Policy, Fp32 };
  explicit SavedTensor(Node* owner, Format format = Format::Policy);
  SavedTensor(const SavedTensor&) = delete;
  SavedTensor& operator=(const SavedTensor&) = delete;

  void save(const Tensor& t);
  Tensor get() const;
  bool defined() const { return saved_; }
  void release() { data_ = Tensor(); }

 private:
  Node* owner_;
  Tensor data_;                     // an alias, or the 16-bit copy
  std::weak_ptr<Storage> source_;   // the original's storage when data_ is a 16-bit copy
  uint64_t version_ = 0;
  bool saved_ = false;
  Format format_;
};

class Node {
 public:
  Node() = default;
  virtual ~Node();  // tears long chains down iteratively (no recursion 1,000 layers deep)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients with respect to each input, in the order given to record(); an undefined
  // Tensor for an input that needs none. Runs with grad mode off.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  virtual const char* name() const = 0;

  // Frees every SavedTensor of this node (the engine calls it right after backward()).
  void release_saved();
  bool released() const { return released_; }

  // The producer of each input (null when that input needs no gradient), its shape, and
  // the order of creation (the engine runs later nodes first).
  std::vector<std::shared_ptr<Node>> next;
  std::vector<Shape> input_shapes;
  uint64_t sequence = 0;

 private:
  friend class SavedTensor;
  std::vector<SavedTensor*> saved_;
  bool released_ = false;
};

// Accumulates the gradient arriving at a leaf tensor into its .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const Tensor& leaf) : leaf_(leaf.impl()) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  const char* name() const override { return "accumulate_grad"; }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// True when g is the only handle to its buffer (no view, no other tensor shares the storage),
// contiguous from the start of it and outside any graph: the engine may then write into it
// or hand it to a leaf as its .grad instead of copying.
bool owns_its_buffer(const Tensor& g);

// True when grad mode is on and some input requires grad: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
inline bool needs_grad(const Tensor& a) { return needs_grad({&a}); }
inline bool needs_grad(const Tensor& a, const Tensor& b) { return needs_grad({&a, &b}); }

// Links `node` to the producers of `inputs` and makes it the grad_fn of `output`.
void record(const std::shared_ptr<Node>& node, Tensor& output,
            std::initializer_list<const Tensor*> inputs);
void record(const std::shared_ptr<Node>& node, Tensor& output, const std::vector<Tensor>& inputs);

}  // namespace tlm::autograd
