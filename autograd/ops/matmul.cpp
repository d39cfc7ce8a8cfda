// Matrix product and its gradient.
//   C = A B,  dA = dC B^T,  dB = A^T dC
// The transposes are views, passed to BLAS as flags: no copies in forward or backward.
// Each gradient is produced in the memory layout of its input: for an input that is a
// transposed view (a Linear weight W used as W^T), dB is computed as (dC^T A)^T, so the
// gradient that reaches W is contiguous and accumulates with a plain copy, not a strided one.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/gemm.h"
#include "tensor/view.h"

namespace tlm {
namespace {

struct MatmulBackward : autograd::Node {
  autograd::SavedTensor a{this}, b{this};
  bool a_transposed = false, b_transposed = false;  // inputs that were column-major views
  const char* name() const override { return "matmul"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor ga, gb;
    if (b.defined()) {
      Tensor bv = b.get();
      ga = a_transposed ? views::transpose(kernels::matmul(bv, views::transpose(g, -2, -1)), -2, -1)
                        : kernels::matmul(g, views::transpose(bv, -2, -1));
    }
    if (a.defined()) {
      Tensor av = a.get();
      gb = b_transposed ? views::transpose(kernels::matmul(views::transpose(g, -2, -1), av), -2, -1)
                        : kernels::matmul(views::transpose(av, -2, -1), g);
    }
    return {ga, gb};
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  TLM_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: {} x {}: expected at least 2-D inputs",
            shape_str(a.shape()), shape_str(b.shape()));
  if (b.dim() == 2 && a.dim() > 2) {
    // A batch times one shared matrix: fold the batch into the rows, one large GEMM.
    TLM_CHECK(a.shape().back() == b.shape()[0], "matmul: {} x {}: inner dimensions {} and {} differ",
              shape_str(a.shape()), shape_str(b.shape()), a.shape().back(), b.shape()[0]);
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(b.shape()[1]);
    Tensor out = matmul(reshape(a, {-1, a.shape().back()}), b);
    return reshape(out, out_shape);
  }
  Tensor out = kernels::matmul(a, b);
  if (autograd::needs_grad(a, b)) {
    auto node = std::make_shared<MatmulBackward>();
    if (a.requires_grad()) node->b.save(b);
    if (b.requires_grad()) node->a.save(a);
    node->a_transposed = kernels::is_column_major(a);
    node->b_transposed = kernels::is_column_major(b);
    autograd::record(node, out, {&a, &b});
  }
  return out;
}

}  // namespace tlm
