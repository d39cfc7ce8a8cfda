#include "autograd/ops/linear.h"

#include <algorithm>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/parallel.h"
#include "tensor/kernels/reduce.h"
#include "tensor/profile.h"
#include "tensor/view.h"

namespace tlm {
namespace {

// x [M, in] (contiguous), w [out, in] (rows contiguous), b [out] or undefined -> [M, out].
Tensor affine_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  TLM_PROFILE(Matmul);
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  Tensor y = Tensor::empty({M, N}, x.dtype());
  dispatch_floating(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    // y starts as the bias in every row and the product accumulates onto it (row_init),
    // block by block in the threads that compute them.
    kernels::blas_gemm<T>(false, true, M, N, K, T(1), x.data<T>(), K, w.data<T>(), w.strides()[0],
                          T(0), y.data<T>(), N, b.defined() ? b.data<T>() : nullptr);
  });
  return y;
}

struct LinearBackward : autograd::Node {
  autograd::SavedTensor x{this}, w{this};  // x as [M, in]
  bool needs_dx = false, needs_dw = false, needs_db = false;
  Shape x_shape;
  const char* name() const override { return "linear"; }
  std::vector<Tensor> backward(const Tensor& g_in) override {
    const int64_t N = g_in.shape().back();
    const Tensor g = views::reshape_view(g_in.contiguous(), {g_in.numel() / std::max<int64_t>(N, 1), N});
    Tensor dx, dw, db;
    if (needs_dx && needs_dw) {
      // dx = g W [M,in], dW = g^T x [out,in] and db = the sum of g's rows, each thread on its
      // own token rows.
      auto [px, pw] = kernels::linear_grads(g, w.get(), x.get(), needs_db ? &db : nullptr);
      dx = px;
      dw = pw;
    } else if (needs_dx) {
      dx = kernels::matmul(g, w.get());
    } else if (needs_dw) {
      dw = kernels::matmul(views::transpose(g, 0, 1), x.get());
    }
    if (dx.defined()) dx = views::reshape_view(dx, x_shape);
    if (needs_db && !db.defined()) db = kernels::sum_axis(g, 0, false);
    return {dx, dw, db};
  }
};

// The weight's rows must be contiguous for sgemm; x is flattened to [M, in].
Tensor rows_ready(const Tensor& w) { return w.strides()[1] == 1 ? w : w.contiguous(); }

}  // namespace

Tensor linear(const Tensor& x_in, const Tensor& weight, const Tensor& bias) {
  TLM_CHECK(weight.dim() == 2, "linear: weight {} must be [out, in]", shape_str(weight.shape()));
  TLM_CHECK(x_in.dim() >= 1 && x_in.shape().back() == weight.size(1),
            "linear: input {} x weight {}: the last axis of the input must be {}",
            shape_str(x_in.shape()), shape_str(weight.shape()), weight.size(1));
  TLM_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),
            "linear: bias {} must be [{}] for weight {}", shape_str(bias.shape()), weight.size(0),
            shape_str(weight.shape()));
  TLM_CHECK(x_in.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x_in.dtype()),
            "linear: dtypes differ (input {}, weight {})", dtype_name(x_in.dtype()),
            dtype_name(weight.dtype()));
  const int64_t K = x_in.shape().back();
  const Tensor x = views::reshape_view(x_in.contiguous(), {x_in.numel() / std::max<int64_t>(K, 1), K});
  const Tensor w = rows_ready(weight);
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Shape out_shape(x_in.shape().begin(), x_in.shape().end() - 1);
  out_shape.push_back(weight.size(0));
  Tensor out = views::reshape_view(affine_forward(x, w, b), out_shape);
  if (autograd::needs_grad({&x_in, &weight, &bias})) {
    auto node = std::make_shared<LinearBackward>();
    if (weight.requires_grad()) node->x.save(x);
    if (x_in.requires_grad()) node->w.save(w);
    node->needs_dx = x_in.requires_grad();
    node->needs_dw = weight.requires_grad();
    node->needs_db = bias.defined() && bias.requires_grad();
    node->x_shape = x_in.shape();
    autograd::record(node, out, {&x_in, &weight, &bias});
  }
  return out;
}

}  // namespace tlm
