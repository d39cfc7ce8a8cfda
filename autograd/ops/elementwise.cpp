// Elementwise ops and their gradients.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/reduce.h"

namespace tlm {

using autograd::Node;
using autograd::SavedTensor;
using kernels::Binary;
using kernels::Unary;

namespace {

// ---------------------------------------------------------------------------------------
// Binary ops. Broadcasting: the gradient of an input is summed back to its own shape.
//   add: da = g, db = g      sub: da = g, db = -g
//   mul: da = g*b, db = g*a  div: da = g/b, db = -g*a/b^2 = -g*out/b
//   maximum/minimum: the gradient goes to the input that was selected (ties: to a)
// ---------------------------------------------------------------------------------------
struct BinaryBackward : Node {
  Binary op;
  SavedTensor a{this}, b{this}, out{this};
  bool need_a = false, need_b = false;
  const char* name() const override { return kernels::binary_name(op); }

  std::vector<Tensor> backward(const Tensor& g) override {
    const Shape& sa = input_shapes[0];
    const Shape& sb = input_shapes[1];
    Tensor ga, gb;
    switch (op) {
      case Binary::Add:
        if (need_a) ga = kernels::sum_to(g, sa);
        if (need_b) gb = kernels::sum_to(g, sb);
        break;
      case Binary::Sub:
        if (need_a) ga = kernels::sum_to(g, sa);
        if (need_b) gb = kernels::sum_to(kernels::unary(g, Unary::Neg), sb);
        break;
      case Binary::Mul:
        if (need_a) ga = kernels::sum_to(kernels::binary(g, b.get(), Binary::Mul), sa);
        if (need_b) gb = kernels::sum_to(kernels::binary(g, a.get(), Binary::Mul), sb);
        break;
      case Binary::Div: {
        Tensor g_over_b = kernels::binary(g, b.get(), Binary::Div);
        if (need_a) ga = kernels::sum_to(g_over_b, sa);
        if (need_b) {
          Tensor t = kernels::binary(g_over_b, out.get(), Binary::Mul);
          gb = kernels::sum_to(kernels::unary(t, Unary::Neg), sb);
        }
        break;
      }
      case Binary::Maximum:
      case Binary::Minimum: {
        // mask = 1 where a was selected
        Tensor av = a.get(), bv = b.get();
        Tensor diff = kernels::binary(av, bv, Binary::Sub);
        Tensor sel = op == Binary::Maximum ? kernels::unary(diff, Unary::Neg) : diff;
        // sel <= 0  <=>  a selected; build mask as (sel <= 0)
        Tensor zero = Tensor::zeros({}, g.dtype());
        Tensor one = Tensor::ones({}, g.dtype());
        Tensor pos = kernels::binary(sel, zero, Binary::Maximum);  // > 0 where b selected
        Tensor mask_b = kernels::where(pos, one, zero);
        Tensor mask_a = kernels::binary(one, mask_b, Binary::Sub);
        if (need_a) ga = kernels::sum_to(kernels::binary(g, mask_a, Binary::Mul), sa);
        if (need_b) gb = kernels::sum_to(kernels::binary(g, mask_b, Binary::Mul), sb);
        break;
      }
      case Binary::Count: break;
    }
    return {ga, gb};
  }
};

Tensor binary_op(const Tensor& a, const Tensor& b, Binary op) {
  Tensor out = kernels::binary(a, b, op);
  if (autograd::needs_grad(a, b)) {
    auto node = std::make_shared<BinaryBackward>();
    node->op = op;
    node->need_a = a.requires_grad();
    node->need_b = b.requires_grad();
    bool save_a = op == Binary::Maximum || op == Binary::Minimum || (op == Binary::Mul && node->need_b);
    bool save_b = op == Binary::Maximum || op == Binary::Minimum || op == Binary::Div ||
                  (op == Binary::Mul && node->need_a);
    if (save_a) node->a.save(a);
    if (save_b) node->b.save(b);
    if (op == Binary::Div && node->need_b) node->out.save(out);
    autograd::record(node, out, {&a, &b});
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Unary ops: dx = g * f'(x). Each op saves only what its derivative reads (x, y or none);
// the formulas are in tensor/kernels/elementwise.cpp, next to f itself.
// ---------------------------------------------------------------------------------------
struct UnaryBackward : Node {
  Unary op;
  double p = 0;
  SavedTensor x{this}, y{this};
  const char* name() const override { return kernels::unary_name(op); }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::unary_backward(g, x.get(), y.get(), op, p)};
  }
};

// The backward of an op whose forward kept f'(x) (unary_with_derivative): grad * f'(x).
struct UnaryKeptDerivativeBackward : Node {
  Unary op;
  SavedTensor dydx{this};
  const char* name() const override { return kernels::unary_name(op); }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::binary(g, dydx.get(), Binary::Mul)};
  }
};

// Ops whose derivative costs about as much as the op: computing it in the forward pass, in
// the same loop (one evaluation of the normal CDF or the sigmoid serves both), and keeping it
// instead of x makes the backward a multiply. Same memory (one saved tensor either way) when
// x fills its own buffer, as a Linear's output does; a view into a larger buffer (the gated
// FFN's half of one product) stays on the plain path: that buffer is kept alive by the other
// half anyway, so a kept f'(x) would be extra memory.
bool derivative_in_forward(Unary op, const Tensor& x) {
  if (op != Unary::Gelu && op != Unary::GeluTanh && op != Unary::Silu) return false;
  return x.is_contiguous() && x.offset() == 0 &&
         x.impl()->storage->nbytes() == static_cast<size_t>(x.numel()) * dtype_size(x.dtype());
}

bool derivative_reads_y(Unary op) {
  switch (op) {
    case Unary::Exp: case Unary::Sqrt: case Unary::Rsqrt: case Unary::Tanh:
    case Unary::Sigmoid: case Unary::RDivScalar:
      return true;
    default: return false;
  }
}

bool derivative_reads_x(Unary op) {
  switch (op) {
    case Unary::Neg: case Unary::AddScalar: case Unary::MulScalar: case Unary::RSubScalar:
    case Unary::Exp: case Unary::Sqrt: case Unary::Rsqrt: case Unary::Tanh: case Unary::Sigmoid:
      return false;
    default: return true;
  }
}

Tensor unary_op(const Tensor& x, Unary op, double p = 0.0) {
  if (autograd::needs_grad(x) && derivative_in_forward(op, x)) {
    Tensor dydx;
    Tensor y = kernels::unary_with_derivative(x, op, p, &dydx);
    auto node = std::make_shared<UnaryKeptDerivativeBackward>();
    node->op = op;
    node->dydx.save(dydx);
    autograd::record(node, y, {&x});
    return y;
  }
  Tensor y = kernels::unary(x, op, p);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<UnaryBackward>();
    node->op = op;
    node->p = p;
    if (derivative_reads_x(op)) node->x.save(x);
    if (derivative_reads_y(op)) node->y.save(y);
    autograd::record(node, y, {&x});
  }
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Div); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Maximum); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op(a, b, Binary::Minimum); }

Tensor add(const Tensor& a, double s) { return unary_op(a, Unary::AddScalar, s); }
Tensor mul(const Tensor& a, double s) { return unary_op(a, Unary::MulScalar, s); }
Tensor pow(const Tensor& a, double p) { return unary_op(a, Unary::PowScalar, p); }
Tensor rsub(const Tensor& a, double s) { return unary_op(a, Unary::RSubScalar, s); }
Tensor rdiv(const Tensor& a, double s) { return unary_op(a, Unary::RDivScalar, s); }
Tensor clamp(const Tensor& a, double lo, double hi) {
  TLM_CHECK(lo <= hi, "clamp: lower bound {} is above upper bound {}", lo, hi);
  return unary_op(unary_op(a, Unary::ClampMin, lo), Unary::ClampMax, hi);
}

Tensor neg(const Tensor& x) { return unary_op(x, Unary::Neg); }
Tensor exp(const Tensor& x) { return unary_op(x, Unary::Exp); }
Tensor log(const Tensor& x) { return unary_op(x, Unary::Log); }
Tensor sqrt(const Tensor& x) { return unary_op(x, Unary::Sqrt); }
Tensor rsqrt(const Tensor& x) { return unary_op(x, Unary::Rsqrt); }
Tensor tanh(const Tensor& x) { return unary_op(x, Unary::Tanh); }
Tensor sigmoid(const Tensor& x) { return unary_op(x, Unary::Sigmoid); }
Tensor relu(const Tensor& x) { return unary_op(x, Unary::Relu); }
Tensor relu2(const Tensor& x) { return unary_op(x, Unary::Relu2); }
Tensor gelu(const Tensor& x) { return unary_op(x, Unary::Gelu); }
Tensor gelu_tanh(const Tensor& x) { return unary_op(x, Unary::GeluTanh); }
Tensor silu(const Tensor& x) { return unary_op(x, Unary::Silu); }
Tensor square(const Tensor& x) { return unary_op(x, Unary::Square); }
Tensor abs(const Tensor& x) { return unary_op(x, Unary::Abs); }
Tensor softplus(const Tensor& x) { return unary_op(x, Unary::Softplus); }
Tensor log_sigmoid(const Tensor& x) { return unary_op(x, Unary::LogSigmoid); }

}  // namespace tlm
