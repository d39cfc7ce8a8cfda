// Indexing ops (embedding lookup, gather, scatter_add), masking and dropout, with gradients.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/reduce.h"

namespace tlm {

using autograd::Node;
using autograd::SavedTensor;

namespace {

// out = table[ids]:  dtable = zeros, then dtable[ids[i]] += g[i] (scatter-add of rows)
struct IndexSelectBackward : Node {
  SavedTensor ids{this};
  const char* name() const override { return "index_select"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dtable = Tensor::zeros(input_shapes[0], g.dtype());
    kernels::index_add_rows_(dtable, ids.get(), g);
    return {dtable, Tensor()};
  }
};

// out = gather(x, axis, index):  dx = scatter_add(zeros, axis, index, g)
struct GatherBackward : Node {
  int64_t axis = 0;
  SavedTensor index{this};
  const char* name() const override { return "gather"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = Tensor::zeros(input_shapes[0], g.dtype());
    kernels::scatter_add_(dx, axis, index.get(), g);
    return {dx, Tensor()};
  }
};

// out = x + scatter(src):  dx = g,  dsrc = gather(g, axis, index)
struct ScatterAddBackward : Node {
  int64_t axis = 0;
  SavedTensor index{this};
  const char* name() const override { return "scatter_add"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {g, Tensor(), kernels::gather(g, axis, index.get())};
  }
};

// out = where(cond, a, b):  da = g * cond,  db = g * (1 - cond)   (summed to each shape)
struct WhereBackward : Node {
  SavedTensor cond{this};
  const char* name() const override { return "where"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor zero = Tensor::zeros({}, g.dtype());
    Tensor ga = kernels::sum_to(kernels::where(cond.get(), g, zero), input_shapes[1]);
    Tensor gb = kernels::sum_to(kernels::where(cond.get(), zero, g), input_shapes[2]);
    return {Tensor(), ga, gb};
  }
};

// out = x * mask / (1 - p):  dx = g * mask / (1 - p)  (the scaled mask is saved)
struct DropoutBackward : Node {
  SavedTensor scaled_mask{this, SavedTensor::Format::Fp32};  // exact 0 or 1/(1-p)
  const char* name() const override { return "dropout"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::binary(g, scaled_mask.get(), kernels::Binary::Mul)};
  }
};

}  // namespace

Tensor index_select(const Tensor& table, const Tensor& ids) {
  Tensor out = kernels::index_select_rows(table, ids);
  if (autograd::needs_grad(table)) {
    auto node = std::make_shared<IndexSelectBackward>();
    node->ids.save(ids);
    autograd::record(node, out, {&table, &ids});
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  axis = normalize_axis(axis, x.dim(), "gather");
  Tensor out = kernels::gather(x, axis, index);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<GatherBackward>();
    node->axis = axis;
    node->index.save(index);
    autograd::record(node, out, {&x, &index});
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  axis = normalize_axis(axis, x.dim(), "scatter_add");
  TLM_CHECK(x.dtype() == src.dtype(), "scatter_add: dtypes differ: {} and {}", x.str(), src.str());
  Tensor out = x.clone();
  kernels::scatter_add_(out, axis, index, src);
  if (autograd::needs_grad(x, src)) {
    auto node = std::make_shared<ScatterAddBackward>();
    node->axis = axis;
    node->index.save(index);
    autograd::record(node, out, {&x, &index, &src});
  }
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = kernels::where(cond, a, b);
  if (autograd::needs_grad(a, b)) {
    auto node = std::make_shared<WhereBackward>();
    node->cond.save(cond);
    autograd::record(node, out, {&cond, &a, &b});
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  TLM_CHECK(shape == x.shape(), "masked_fill: mask {} does not broadcast to the input {}",
            shape_str(mask.shape()), shape_str(x.shape()));
  return where(mask, Tensor::full({}, value, x.dtype()), x);
}

Tensor dropout(const Tensor& x, double p, Rng& rng, bool training) {
  TLM_CHECK(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got {}", p);
  if (!training || p == 0) return x;
  Tensor scaled_mask = Tensor::empty(x.shape(), x.dtype());
  const double keep_scale = 1.0 / (1.0 - p);
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    T* m = scaled_mask.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i)
      m[i] = rng.uniform() < p ? T(0) : static_cast<T>(keep_scale);
  });
  Tensor out = kernels::binary(x, scaled_mask, kernels::Binary::Mul);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<DropoutBackward>();
    node->scaled_mask.save(scaled_mask);
    autograd::record(node, out, {&x});
  }
  return out;
}

}  // namespace tlm
