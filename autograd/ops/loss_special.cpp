// y = log Phi(x) (standard normal CDF);  dy/dx = phi(x)/Phi(x) (inverse Mills ratio).
// Used by EXACT (nn/loss/exact.h) to sum log Phi terms in log space.
#include "autograd/ops/loss_special.h"

#include "autograd/node.h"
#include "tensor/kernels/loss_special.h"

namespace tlm {
namespace {

struct LogNdtrBackward : autograd::Node {
  autograd::SavedTensor x{this, autograd::SavedTensor::Format::Fp32};  // losses stay fp32
  const char* name() const override { return "log_ndtr"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::log_ndtr_backward(g, x.get())};
  }
};

}  // namespace

Tensor log_ndtr(const Tensor& x) {
  Tensor y = kernels::log_ndtr(x);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<LogNdtrBackward>();
    node->x.save(x);
    autograd::record(node, y, {&x});
  }
  return y;
}

}  // namespace tlm
