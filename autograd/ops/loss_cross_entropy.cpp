// Fused softmax cross-entropy with label smoothing (Szegedy et al., arXiv:1512.00567;
// PyTorch convention: the target gets 1-eps+eps/V) and an ignore index.
//   loss_i = LSE(z_i) - (1-eps) z_{i,y_i} - eps mean_c z_{i,c}
//   dz_i   = scale_i (softmax(z_i) - q_i),   scale_i = g / n_valid for the mean
#include "autograd/ops/loss_cross_entropy.h"

#include "autograd/node.h"

namespace tlm {

using autograd::Node;
using autograd::SavedTensor;

namespace {

struct CrossEntropyBackward : Node {
  SavedTensor logits{this, SavedTensor::Format::Fp32};   // [N,V] (losses stay fp32)
  SavedTensor targets{this};  // [N] int32
  SavedTensor lse{this, SavedTensor::Format::Fp32};      // [N]
  double label_smoothing = 0;
  int32_t ignore_index = -100;
  kernels::LossReduction reduction = kernels::LossReduction::Mean;
  int64_t n_valid = 0;
  const char* name() const override { return "cross_entropy"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::cross_entropy_backward(g, logits.get(), targets.get(), lse.get(),
                                            label_smoothing, ignore_index, reduction, n_valid),
            Tensor()};
  }
};

}  // namespace

Tensor fused_cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing,
                           int32_t ignore_index, kernels::LossReduction reduction) {
  kernels::CrossEntropyResult r =
      kernels::cross_entropy_forward(logits, targets, label_smoothing, ignore_index, reduction);
  Tensor out = r.loss;
  if (autograd::needs_grad(logits)) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->logits.save(logits);
    node->targets.save(targets);
    node->lse.save(r.lse);
    node->label_smoothing = label_smoothing;
    node->ignore_index = ignore_index;
    node->reduction = reduction;
    node->n_valid = r.n_valid;
    autograd::record(node, out, {&logits, &targets});
  }
  return out;
}

}  // namespace tlm
