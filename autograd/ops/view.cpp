// Views and copies (reshape, transpose, permute, narrow, expand, concat, split, cast),
// with their gradients. A view's backward maps the gradient back through the inverse view.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/copy.h"
#include "tensor/kernels/reduce.h"
#include "tensor/view.h"

namespace tlm {

using autograd::Node;

namespace {

// reshape: dx = reshape(g, x.shape)
struct ReshapeBackward : Node {
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor gc = g.contiguous();
    return {views::reshape_view(gc, input_shapes[0])};
  }
};

// transpose: dx = transpose(g) with the same two axes
struct TransposeBackward : Node {
  int64_t a0 = 0, a1 = 0;
  const char* name() const override { return "transpose"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {views::transpose(g, a0, a1)}; }
};

// permute: dx = permute(g, inverse order)
struct PermuteBackward : Node {
  std::vector<int64_t> inverse;
  const char* name() const override { return "permute"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {views::permute(g, inverse)}; }
};

// narrow: dx = zeros with g written into the narrowed window
struct NarrowBackward : Node {
  int64_t axis = 0, start = 0;
  const char* name() const override { return "narrow"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = Tensor::zeros(input_shapes[0], g.dtype());
    Tensor window = views::narrow(dx, axis, start, g.shape()[axis]);
    kernels::strided_copy(window, g);
    return {dx};
  }
};

// expand: dx = g summed over the expanded dimensions
struct ExpandBackward : Node {
  const char* name() const override { return "expand"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::sum_to(g, input_shapes[0])};
  }
};

// contiguous: identity
struct IdentityBackward : Node {
  const char* name() const override { return "contiguous"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g}; }
};

// concat: each input gets its window of g
struct ConcatBackward : Node {
  int64_t axis = 0;
  const char* name() const override { return "concat"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    std::vector<Tensor> out;
    int64_t start = 0;
    for (const Shape& s : input_shapes) {
      out.push_back(views::narrow(g, axis, start, s[axis]));
      start += s[axis];
    }
    return out;
  }
};

// cast: dx = g converted back to the input's dtype
struct CastBackward : Node {
  DType from = DType::F32;
  const char* name() const override { return "cast"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g.to(from)}; }
};

template <class N>
Tensor with_node(Tensor out, const Tensor& x, std::shared_ptr<N> node) {
  autograd::record(node, out, {&x});
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  Shape shape = views::infer_shape(shape_in, x.numel(), "reshape");
  Tensor out = views::reshape_view(x, shape);
  if (!out.defined()) {
    Tensor c = x.contiguous();
    out = views::reshape_view(c, shape);
  }
  if (!autograd::needs_grad(x)) return out;
  return with_node(out, x, std::make_shared<ReshapeBackward>());
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  Tensor out = views::transpose(x, axis0, axis1);
  if (!autograd::needs_grad(x)) return out;
  auto node = std::make_shared<TransposeBackward>();
  node->a0 = axis0;
  node->a1 = axis1;
  return with_node(out, x, node);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  Tensor out = views::permute(x, order);
  if (!autograd::needs_grad(x)) return out;
  auto node = std::make_shared<PermuteBackward>();
  node->inverse.resize(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    node->inverse[normalize_axis(order[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return with_node(out, x, node);
}

Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  axis = normalize_axis(axis, x.dim(), "narrow");
  Tensor out = views::narrow(x, axis, start, length);
  if (!autograd::needs_grad(x)) return out;
  auto node = std::make_shared<NarrowBackward>();
  node->axis = axis;
  node->start = start;
  return with_node(out, x, node);
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  axis = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  s.insert(s.begin() + axis, 1);
  return reshape(x, s);
}

Tensor squeeze(const Tensor& x, int64_t axis) {
  axis = normalize_axis(axis, x.dim(), "squeeze");
  TLM_CHECK(x.shape()[axis] == 1, "squeeze: axis {} of {} has size {}, not 1", axis,
            shape_str(x.shape()), x.shape()[axis]);
  Shape s = x.shape();
  s.erase(s.begin() + axis);
  return reshape(x, s);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor out = views::expand(x, shape);
  if (!autograd::needs_grad(x)) return out;
  return with_node(out, x, std::make_shared<ExpandBackward>());
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = x.clone();
  if (!autograd::needs_grad(x)) return out;
  return with_node(out, x, std::make_shared<IdentityBackward>());
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  TLM_CHECK(!xs.empty(), "concat: no tensors given");
  axis = normalize_axis(axis, xs[0].dim(), "concat");
  Shape out_shape = xs[0].shape();
  out_shape[axis] = 0;
  for (const Tensor& t : xs) {
    TLM_CHECK(t.dim() == xs[0].dim() && t.dtype() == xs[0].dtype(),
              "concat: {} and {} differ in rank or dtype", xs[0].str(), t.str());
    for (int64_t d = 0; d < t.dim(); ++d)
      TLM_CHECK(d == axis || t.shape()[d] == xs[0].shape()[d],
                "concat: {} and {} differ outside axis {}", shape_str(xs[0].shape()),
                shape_str(t.shape()), axis);
    out_shape[axis] += t.shape()[axis];
  }
  Tensor out = Tensor::empty(out_shape, xs[0].dtype());
  int64_t start = 0;
  for (const Tensor& t : xs) {
    Tensor window = views::narrow(out, axis, start, t.shape()[axis]);
    kernels::strided_copy(window, t);
    start += t.shape()[axis];
  }
  bool grad = false;
  for (const Tensor& t : xs) grad = grad || autograd::needs_grad(t);
  if (grad) {
    auto node = std::make_shared<ConcatBackward>();
    node->axis = axis;
    autograd::record(node, out, xs);
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  axis = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  TLM_CHECK(total == x.shape()[axis], "split: sizes add up to {}, but axis {} of {} has {}",
            total, axis, shape_str(x.shape()), x.shape()[axis]);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, axis, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis) {
  axis = normalize_axis(axis, x.dim(), "chunk");
  TLM_CHECK(chunks > 0 && x.shape()[axis] % chunks == 0,
            "chunk: axis {} of {} (size {}) does not split into {} equal chunks", axis,
            shape_str(x.shape()), x.shape()[axis], chunks);
  return split(x, std::vector<int64_t>(chunks, x.shape()[axis] / chunks), axis);
}

Tensor cast(const Tensor& x, DType dtype) {
  TLM_CHECK(is_floating(dtype) && is_floating(x.dtype()),
            "cast: only between floating dtypes, got {} -> {}", x.str(), dtype_name(dtype));
  if (x.dtype() == dtype) return x;
  Tensor out = x.to(dtype);
  if (!autograd::needs_grad(x)) return out;
  auto node = std::make_shared<CastBackward>();
  node->from = x.dtype();
  return with_node(out, x, node);
}

}  // namespace tlm
