#include "autograd/ops/flash_attention.h"

#include "autograd/node.h"
#include "tensor/kernels/flash_attention.h"

namespace tlm {
namespace {

struct FlashAttentionBackward : autograd::Node {
  autograd::SavedTensor q{this}, k{this}, v{this}, out{this};
  autograd::SavedTensor lse{this, autograd::SavedTensor::Format::Fp32};
  autograd::SavedTensor probs{this, autograd::SavedTensor::Format::Fp32};  // short contexts
  std::vector<double> row_scale;
  int64_t offset = 0, window = 0;
  const char* name() const override { return "flash_attention"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    kernels::FlashAttentionGrads d = kernels::flash_attention_backward(
        g, q.get(), k.get(), v.get(), out.get(), lse.get(), row_scale, offset, window,
        probs.get());
    return {d.dq, d.dk, d.dv};
  }
};

}  // namespace

Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const std::vector<double>& row_scale, int64_t offset, int64_t window) {
  const bool grad = autograd::needs_grad({&q, &k, &v});
  kernels::FlashAttentionResult r =
      kernels::flash_attention(q, k, v, row_scale, offset, window, /*keep_probs=*/grad);
  if (grad) {
    auto node = std::make_shared<FlashAttentionBackward>();
    node->q.save(q);
    node->k.save(k);
    node->v.save(v);
    node->out.save(r.out);
    node->lse.save(r.lse);
    if (r.probs.defined()) node->probs.save(r.probs);
    node->row_scale = row_scale;
    node->offset = offset;
    node->window = window;
    autograd::record(node, r.out, {&q, &k, &v});
  }
  return r.out;
}

}  // namespace tlm
