// Reductions and softmax, with their gradients.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/softmax.h"

namespace tlm {

using autograd::Node;
using autograd::SavedTensor;

namespace {

// The gradient of a reduced tensor, reshaped so it broadcasts against the input
// (the reduced axis kept as size 1).
Tensor keepdim_view(const Tensor& g, const Shape& input_shape, int64_t axis) {
  Shape s = input_shape;
  s[axis] = 1;
  Tensor gc = g.contiguous();
  return Tensor::make_view(gc, s, contiguous_strides(s), gc.offset());
}

// sum over axis: dx = broadcast(g). mean: dx = broadcast(g) / n.
struct SumBackward : Node {
  int64_t axis = -1;  // -1: all elements
  double scale = 1;   // 1/n for mean
  const char* name() const override { return scale == 1 ? "sum" : "mean"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Shape& s = input_shapes[0];
    Tensor gb = axis < 0 ? g : keepdim_view(g, s, axis);
    if (scale != 1) gb = kernels::unary(gb, kernels::Unary::MulScalar, scale);
    Tensor zeros = Tensor::zeros(s, g.dtype());
    return {kernels::binary(zeros, gb, kernels::Binary::Add)};
  }
};

Tensor reduce_sum(const Tensor& x, int64_t axis, bool keepdim, bool is_mean) {
  Tensor out = kernels::sum_axis(x, axis, keepdim);
  double scale = 1;
  if (is_mean) {
    scale = 1.0 / static_cast<double>(std::max<int64_t>(x.size(axis), 1));
    out = kernels::unary(out, kernels::Unary::MulScalar, scale);
  }
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<SumBackward>();
    node->axis = normalize_axis(axis, x.dim(), "sum");
    node->scale = scale;
    autograd::record(node, out, {&x});
  }
  return out;
}

Tensor reduce_all(const Tensor& x, bool is_mean) {
  Tensor out = kernels::sum_all(x);
  double scale = 1;
  if (is_mean) {
    scale = 1.0 / static_cast<double>(std::max<int64_t>(x.numel(), 1));
    out = kernels::unary(out, kernels::Unary::MulScalar, scale);
  }
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<SumBackward>();
    node->axis = -1;
    node->scale = scale;
    autograd::record(node, out, {&x});
  }
  return out;
}

// max over axis: the gradient goes to the (first) argmax of each lane.
struct MaxBackward : Node {
  int64_t axis = 0;
  SavedTensor argmax{this};
  const char* name() const override { return "max"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Shape& s = input_shapes[0];
    Tensor dx = Tensor::zeros(s, g.dtype());
    Tensor idx = keepdim_view(argmax.get(), s, axis);
    kernels::scatter_add_(dx, axis, idx, keepdim_view(g, s, axis));
    return {dx};
  }
};

// logsumexp over axis: dx = g * softmax(x) = g * exp(x - out).
struct LogSumExpBackward : Node {
  int64_t axis = 0;
  SavedTensor x{this, SavedTensor::Format::Fp32}, out{this, SavedTensor::Format::Fp32};  // log-sum-exp: loss side, fp32
  const char* name() const override { return "logsumexp"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Shape& s = input_shapes[0];
    Tensor shifted = kernels::binary(x.get(), keepdim_view(out.get(), s, axis), kernels::Binary::Sub);
    Tensor p = kernels::unary(shifted, kernels::Unary::Exp);
    return {kernels::binary(p, keepdim_view(g, s, axis), kernels::Binary::Mul)};
  }
};

// softmax: dx = y * (g - sum(g * y));  log_softmax: dx = g - exp(y) * sum(g).
struct SoftmaxBackward : Node {
  int64_t axis = -1;
  bool log = false;
  SavedTensor y{this};
  const char* name() const override { return log ? "log_softmax" : "softmax"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {log ? kernels::log_softmax_backward(g, y.get(), axis)
                : kernels::softmax_backward(g, y.get(), axis)};
  }
};

Tensor softmax_op(const Tensor& x, int64_t axis, bool log) {
  axis = normalize_axis(axis, x.dim(), log ? "log_softmax" : "softmax");
  Tensor y = log ? kernels::log_softmax(x, axis) : kernels::softmax(x, axis);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<SoftmaxBackward>();
    node->axis = axis;
    node->log = log;
    node->y.save(y);
    autograd::record(node, y, {&x});
  }
  return y;
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce_all(x, false); }
Tensor mean(const Tensor& x) { return reduce_all(x, true); }
Tensor sum(const Tensor& x, int64_t axis, bool keepdim) {
  return reduce_sum(x, normalize_axis(axis, x.dim(), "sum"), keepdim, false);
}
Tensor mean(const Tensor& x, int64_t axis, bool keepdim) {
  return reduce_sum(x, normalize_axis(axis, x.dim(), "mean"), keepdim, true);
}

Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  axis = normalize_axis(axis, x.dim(), "max");
  Tensor argmax;
  Tensor out = kernels::max_axis(x, axis, keepdim, &argmax);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<MaxBackward>();
    node->axis = axis;
    node->argmax.save(argmax);
    autograd::record(node, out, {&x});
  }
  return out;
}

Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim) {
  axis = normalize_axis(axis, x.dim(), "logsumexp");
  Tensor out = kernels::logsumexp_axis(x, axis, keepdim);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<LogSumExpBackward>();
    node->axis = axis;
    node->x.save(x);
    node->out.save(out);
    autograd::record(node, out, {&x});
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_op(x, axis, false); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_op(x, axis, true); }

}  // namespace tlm
