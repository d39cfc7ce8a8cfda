// Causal softmax (the attention normaliser of "Attention Is All You Need", arXiv:1706.03762):
//   forward:  y_ij = exp(s x_ij) / sum_{k visible} exp(s x_ik) for visible j, else 0
//   backward: dx_ij = s * y_ij * (g_ij - sum_k g_ik y_ik)      (masked entries: y = 0 -> 0)
#include "autograd/ops/attention.h"

#include "autograd/node.h"
#include "tensor/kernels/attention.h"

namespace tlm {
namespace {

struct CausalSoftmaxBackward : autograd::Node {
  autograd::SavedTensor y{this};  // [..., Tq, Tk] the probabilities
  double scale = 1;
  int64_t offset = 0, window = 0;
  const char* name() const override { return "causal_softmax"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::causal_softmax_backward(g, y.get(), scale, offset, window)};
  }
};

}  // namespace

Tensor causal_softmax(const Tensor& x, double scale, int64_t offset, int64_t window) {
  Tensor y = kernels::causal_softmax(x, scale, offset, window);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<CausalSoftmaxBackward>();
    node->y.save(y);
    node->scale = scale;
    node->offset = offset;
    node->window = window;
    autograd::record(node, y, {&x});
  }
  return y;
}

}  // namespace tlm
