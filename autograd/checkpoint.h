// Activation checkpointing: y = f(x) without keeping f's intermediate activations; backward
// runs f(x) again, recording this time, and back-propagates through the recomputation.
//
//   Tensor y = autograd::checkpoint(
//       [&](const Tensor& x, Rng& r) { return block.forward(x, r); },  // any differentiable f
//       x, rng, block.parameters());
//
// Memory: only x (stored in fp32, whatever the precision scope) and the output stay alive
// between forward and backward, instead of every tensor f saves; the price is a second
// forward of f during backward (Chen et al., "Training Deep Nets with Sublinear Memory Cost",
// arXiv:1604.06174; PyTorch's torch.utils.checkpoint). docs/methods.md, "Activation
// checkpointing".
//
// The recomputation sees what the first run saw, so the gradients equal those of an
// un-checkpointed f (bit for bit in tests/autograd/test_checkpoint.cpp and for Pre-Norm and GAU
// GPTs; Post-Norm and DeepNorm GPTs differ in the last bits, tests/nn/test_activation_checkpointing.cpp):
//   * the Rng is replayed from its state at the first call (dropout draws the same masks);
//   * it runs under the precision the first call ran under (a scope of its own, so the
//     rounding statistics count the forward once);
//   * x is saved in fp32, never as a 16-bit copy: f is recomputed from the exact input.
// f must be deterministic given (x, rng state) and must not change state it reads later
// (a KV cache, a running statistic): training forwards of tlm's blocks are.
// Without grad mode, or when neither x nor any of `params` requires grad, checkpoint is f(x).
#pragma once

#include <functional>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tlm::autograd {

using CheckpointFn = std::function<Tensor(const Tensor& x, Rng& rng)>;

// `params`: the leaves f uses (a module's parameters); they receive their gradients when the
// recomputation is back-propagated, in the same order as without checkpointing.
Tensor checkpoint(CheckpointFn f, const Tensor& x, Rng& rng, const std::vector<Tensor>& params);

}  // namespace tlm::autograd
