// Activation checkpointing (autograd/checkpoint.h): a node that keeps f, its input and the
// Rng state, and recomputes f under recording when the engine reaches it.
#include "autograd/checkpoint.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/precision.h"

namespace tlm::autograd {
namespace {

struct CheckpointBackward : Node {
  CheckpointFn f;
  SavedTensor x{this, SavedTensor::Format::Fp32};  // the exact input, never 16-bit
  Rng::State rng_state{};                          // the Rng as f first saw it
  Precision precision = Precision::F32;            // the scope f first ran under
  bool x_requires_grad = false;

  const char* name() const override { return "checkpoint"; }

  std::vector<Tensor> backward(const Tensor& g) override {
    // A fresh leaf over the saved input: the recomputed graph ends at it, and its .grad is
    // dL/dx once the recomputation has been back-propagated.
    Tensor input = x.get().detach();
    if (x_requires_grad) input.set_requires_grad(true);
    Rng replay;
    replay.set_state(rng_state);
    Tensor y;
    {
      EnableGradGuard record;                 // the engine runs backward with grad mode off
      PrecisionGuard same_precision(precision);
      y = f(input, replay);
    }
    // Tensor::backward runs its own engine pass over the recomputed graph: parameters
    // accumulate their gradients, `input` receives dL/dx.
    if (y.requires_grad()) y.backward(g);
    return {x_requires_grad ? input.grad() : Tensor()};
  }
};

}  // namespace

Tensor checkpoint(CheckpointFn f, const Tensor& x, Rng& rng, const std::vector<Tensor>& params) {
  bool any = x.requires_grad();
  for (const Tensor& p : params) any = any || (p.defined() && p.requires_grad());
  if (!GradMode::enabled() || !any) return f(x, rng);

  auto node = std::make_shared<CheckpointBackward>();
  node->rng_state = rng.state();
  node->precision = current_precision();
  node->x_requires_grad = x.requires_grad();
  Tensor y;
  {
    NoGradGuard no_record;  // f saves nothing: this is the memory checkpointing frees
    y = f(x, rng);
  }
  node->x.save(x);
  node->f = std::move(f);
  record(node, y, {&x});
  return y;
}

}  // namespace tlm::autograd
