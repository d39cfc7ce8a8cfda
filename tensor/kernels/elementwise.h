// Elementwise kernels: unary maps (with their derivatives), broadcasting binary maps,
// where/masked_fill. Inputs may be any strided view; outputs are fresh and contiguous.
// Loops over >= kParallelGrain elements run on all OpenMP threads.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

enum class Unary {
  Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, Relu2, Gelu, GeluTanh, Silu,
  Square, Abs, Softplus, LogSigmoid,
  // with a scalar parameter p:
  AddScalar, MulScalar, PowScalar, RSubScalar /* p - x */, RDivScalar /* p / x */,
  ClampMin, ClampMax, Count
};
const char* unary_name(Unary op);

// y = f(x) (p is the scalar parameter of the *Scalar/Clamp ops)
Tensor unary(const Tensor& x, Unary op, double p = 0.0);
// y = f(x) and *dydx = f'(x) in one pass, for ops whose derivative costs about as much as f
// itself (GELU, SiLU): the forward then keeps f'(x) and the backward is one multiply, where
// unary_backward would evaluate the same functions a second time. GELU forward + backward:
// 1.24-1.32x faster at the baby MLP shape (768 x 512), 1.13-1.18x at width 384 (2048 x 1536)
// (bench_tensor --benchmark_filter=GeluForwardBackward, 2 threads).
Tensor unary_with_derivative(const Tensor& x, Unary op, double p, Tensor* dydx);
// grad_in = grad_out * f'(x); y = f(x) is passed so ops whose derivative is cheaper in terms
// of y (exp, sigmoid, tanh, sqrt) can use it.
Tensor unary_backward(const Tensor& grad_out, const Tensor& x, const Tensor& y, Unary op,
                      double p = 0.0);

enum class Binary { Add, Sub, Mul, Div, Maximum, Minimum, Count };
const char* binary_name(Binary op);

// out = a op b with NumPy broadcasting; a and b of the same floating dtype.
Tensor binary(const Tensor& a, const Tensor& b, Binary op);
// a = a op b in place; b must broadcast to a's shape. Bumps a's version.
void binary_(Tensor& a, const Tensor& b, Binary op);
// a += alpha * b in place (same shape), the optimizers' workhorse.
void axpy_(Tensor& a, const Tensor& b, double alpha);

// out = cond ? a : b (cond int32 or floating, nonzero = true), broadcasting all three.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace tlm::kernels
