// The backward engine: reverse-mode differentiation over the recorded graph.
//
// 1. Count, for every node reachable from the root, how many edges point at it (an
//    iterative DFS: a 1,000-layer network must not overflow the stack).
// 2. Run nodes whose gradients are complete, latest-created first, summing the gradients
//    that arrive on several edges (a tensor used twice gets both contributions).
// 3. Free each node's saved tensors as soon as it has run, so activation memory is returned
//    during backward, not after it.
#include <queue>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/kernels/elementwise.h"

namespace tlm {

using autograd::Node;

void Tensor::backward(const Tensor& grad_output) const {
  TLM_CHECK(defined(), "backward: called on an undefined tensor");
  TLM_CHECK(requires_grad(), "backward: {} does not require grad (no input of the ops that "
            "produced it requires grad, or it was computed under no_grad)", str());
  Tensor seed = grad_output;
  if (!seed.defined()) {
    TLM_CHECK(numel() == 1, "backward: called on a non-scalar tensor {} without a gradient; "
              "pass grad_output of the same shape, or reduce to a scalar first", str());
    seed = Tensor::ones(shape(), dtype());
  }
  TLM_CHECK(seed.shape() == shape() && seed.dtype() == dtype(),
            "backward: grad_output {} does not match the tensor {}", seed.str(), str());

  NoGradGuard no_grad;
  std::shared_ptr<Node> root = grad_fn();
  if (!root) {  // a leaf: backward is plain accumulation
    autograd::AccumulateGrad acc(*this);
    acc.backward(seed);
    return;
  }

  std::unordered_map<Node*, int> dependencies;
  {
    std::vector<Node*> stack{root.get()};
    dependencies[root.get()] = 0;
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (auto& child : n->next) {
        if (!child) continue;
        auto [it, inserted] = dependencies.try_emplace(child.get(), 0);
        ++it->second;
        if (inserted) stack.push_back(child.get());
      }
    }
  }

  auto later_first = [](const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) {
    return a->sequence < b->sequence;
  };
  std::priority_queue<std::shared_ptr<Node>, std::vector<std::shared_ptr<Node>>,
                      decltype(later_first)>
      ready(later_first);
  std::unordered_map<Node*, Tensor> grads;
  grads[root.get()] = seed;
  ready.push(root);

  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.top();
    ready.pop();
    Tensor g = std::move(grads[node.get()]);
    grads.erase(node.get());
    TLM_CHECK(!node->released(),
              "{} backward: the graph was already used by a backward pass and its saved "
              "tensors were freed; run the forward pass again", node->name());
    std::vector<Tensor> input_grads = node->backward(g);
    node->release_saved();
    TLM_CHECK(input_grads.size() == node->next.size() || input_grads.empty(),
              "{} backward: returned {} gradients for {} inputs", node->name(),
              input_grads.size(), node->next.size());
    for (size_t i = 0; i < input_grads.size(); ++i) {
      Node* child = node->next[i].get();
      if (!child) continue;
      Tensor& gi = input_grads[i];
      if (gi.defined()) {
        TLM_CHECK(gi.shape() == node->input_shapes[i],
                  "{} backward: gradient {} for input {} of shape {}", node->name(),
                  shape_str(gi.shape()), i, shape_str(node->input_shapes[i]));
        auto it = grads.find(child);
        if (it == grads.end() || !it->second.defined()) {
          grads[child] = gi;
        } else {
          // Sum in place when the running sum is the engine's own buffer (no fresh tensor).
          if (autograd::owns_its_buffer(it->second) && it->second.dtype() == gi.dtype()) {
            kernels::binary_(it->second, gi, kernels::Binary::Add);
          } else {
            it->second = kernels::binary(it->second, gi, kernels::Binary::Add);
          }
        }
      }
      if (--dependencies[child] == 0) {
        if (grads.count(child) && grads[child].defined()) {
          ready.push(node->next[i]);
        } else {
          // No gradient reached this node on any edge: nothing flows further along it,
          // but its dependents still need their counts released.
          grads.erase(child);
          std::vector<Node*> stack{child};
          while (!stack.empty()) {
            Node* n = stack.back();
            stack.pop_back();
            n->release_saved();
            for (auto& c : n->next)
              if (c && --dependencies[c.get()] == 0) {
                if (grads.count(c.get()) && grads[c.get()].defined()) ready.push(c);
                else stack.push_back(c.get());
              }
          }
        }
      }
    }
  }
}

}  // namespace tlm
