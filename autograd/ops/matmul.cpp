// Matrix product and its gradient.
//   C = A B,  dA = dC B^T,  dB = A^T dC
// The transposes are views, passed to BLAS as flags: no copies in forward or backward.
// Each gradient is produced in the memory layout of its input: for an input that is a
// transposed view (a Linear weight W used as W^T), dB is computed as (dC^T A)^T, so the
// gradient that reaches W is contiguous and accumulates with a plain copy, not a strided one.
// Under a bf16/fp16 precision scope (autograd/precision.h; docs/methods.md, "bf16 and fp16") A
// and B are rounded to the format and multiplied with fp32 accumulation; in backward dC, dA and
// dB are rounded to the format too, as a 16-bit GEMM would produce them. The products run in
// sgemm, except under bf16 on a CPU with AVX-512 BF16, where they run on its bf16 dot products
// (kernels/gemm_bf16.h): the same values up to the order of the fp32 sums, up to 2x faster.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/precision.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/view.h"

namespace tlm {
namespace {

kernels::GemmInputs gemm_inputs(Precision p) {
  return p == Precision::BF16 ? kernels::GemmInputs::BF16 : kernels::GemmInputs::F32;
}

// True when the products under precision p run on the bf16 kernel, which rounds its operands
// while packing them, and x can be counted in place: x is not rounded into a copy first.
bool bf16_kernel_rounds(Precision p, const Tensor& x) {
  return p == Precision::BF16 && x.dtype() == DType::F32 && kernels::bf16_gemm_supported() &&
         autograd::is_dense_block(x);
}

struct MatmulBackward : autograd::Node {
  autograd::SavedTensor a{this}, b{this};
  bool a_transposed = false, b_transposed = false;  // inputs that were column-major views
  Precision precision = Precision::F32;              // of the forward pass
  const char* name() const override { return "matmul"; }
  std::vector<Tensor> backward(const Tensor& g_in) override {
    if (precision == Precision::F32) return backward_(g_in);
    // The bf16 kernel rounds dC itself: only its statistics are taken here, no rounded copy.
    const bool kernel_rounds = bf16_kernel_rounds(precision, g_in);
    if (kernel_rounds) autograd::count_bf16_rounding(g_in, true);
    std::vector<Tensor> grads =
        backward_(kernel_rounds ? g_in : autograd::round_grad_to_precision(g_in, precision));
    for (Tensor& t : grads) t = autograd::round_fresh_grad_to_precision(t, precision);
    return grads;
  }
  std::vector<Tensor> backward_(const Tensor& g) {
    const kernels::GemmInputs inputs = gemm_inputs(precision);
    Tensor ga, gb;
    // Each gradient as one product (x, y); the transposed variants land in the input's layout.
    auto grad_a = [&](const Tensor& bv) -> std::pair<Tensor, Tensor> {
      if (a_transposed) return {bv, views::transpose(g, -2, -1)};  // (b g^T)^T
      return {g, views::transpose(bv, -2, -1)};
    };
    auto grad_b = [&](const Tensor& av) -> std::pair<Tensor, Tensor> {
      if (b_transposed) return {views::transpose(g, -2, -1), av};  // (g^T a)^T
      return {views::transpose(av, -2, -1), g};
    };
    auto finish_a = [&](Tensor t) { return a_transposed ? views::transpose(t, -2, -1) : t; };
    auto finish_b = [&](Tensor t) { return b_transposed ? views::transpose(t, -2, -1) : t; };
    if (a.defined() && b.defined()) {
      auto [xa, ya] = grad_a(b.get());
      auto [xb, yb] = grad_b(a.get());
      auto [pa, pb] = kernels::matmul_pair(xa, ya, xb, yb, inputs);
      ga = finish_a(pa);
      gb = finish_b(pb);
    } else if (b.defined()) {
      auto [x, y] = grad_a(b.get());
      ga = finish_a(kernels::matmul(x, y, inputs));
    } else if (a.defined()) {
      auto [x, y] = grad_b(a.get());
      gb = finish_b(kernels::matmul(x, y, inputs));
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
  const Precision precision = current_precision();
  Tensor out;
  if (precision == Precision::F32 || a.dtype() != DType::F32) {
    out = kernels::matmul(a, b);
  } else if (bf16_kernel_rounds(precision, a) && bf16_kernel_rounds(precision, b)) {
    autograd::count_bf16_rounding(a, false);
    autograd::count_bf16_rounding(b, false);
    out = kernels::matmul(a, b, kernels::GemmInputs::BF16);  // rounds a and b as it packs them
  } else {
    out = kernels::matmul(autograd::round_to_precision(a, precision),
                          autograd::round_to_precision(b, precision), gemm_inputs(precision));
  }
  if (autograd::needs_grad(a, b)) {
    auto node = std::make_shared<MatmulBackward>();
    node->precision = a.dtype() == DType::F32 ? precision : Precision::F32;
    if (a.requires_grad()) node->b.save(b);
    if (b.requires_grad()) node->a.save(a);
    node->a_transposed = kernels::is_column_major(a);
    node->b_transposed = kernels::is_column_major(b);
    autograd::record(node, out, {&a, &b});
  }
  return out;
}

}  // namespace tlm
