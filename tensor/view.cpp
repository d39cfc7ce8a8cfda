#include "tensor/view.h"

#include <algorithm>

namespace tlm::views {

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  axis0 = normalize_axis(axis0, x.dim(), "transpose");
  axis1 = normalize_axis(axis1, x.dim(), "transpose");
  Shape s = x.shape();
  Strides st = x.strides();
  std::swap(s[axis0], s[axis1]);
  std::swap(st[axis0], st[axis1]);
  return Tensor::make_view(x, s, st, x.offset());
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  TLM_CHECK(static_cast<int64_t>(order.size()) == x.dim(),
            "permute: order has {} entries for a {}-D tensor {}", order.size(), x.dim(),
            shape_str(x.shape()));
  Shape s(order.size());
  Strides st(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t a = normalize_axis(order[i], x.dim(), "permute");
    TLM_CHECK(!seen[a], "permute: axis {} appears twice in the order", a);
    seen[a] = true;
    s[i] = x.shape()[a];
    st[i] = x.strides()[a];
  }
  return Tensor::make_view(x, s, st, x.offset());
}

Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  axis = normalize_axis(axis, x.dim(), "narrow");
  TLM_CHECK(start >= 0 && length >= 0 && start + length <= x.shape()[axis],
            "narrow: [{}, {}) is out of range for axis {} of size {} in {}", start,
            start + length, axis, x.shape()[axis], shape_str(x.shape()));
  Shape s = x.shape();
  s[axis] = length;
  return Tensor::make_view(x, s, x.strides(), x.offset() + start * x.strides()[axis]);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  TLM_CHECK(shape.size() >= x.shape().size(), "expand: cannot expand {} to fewer dimensions {}",
            shape_str(x.shape()), shape_str(shape));
  Strides st(shape.size(), 0);
  size_t lead = shape.size() - x.shape().size();
  for (size_t i = 0; i < x.shape().size(); ++i) {
    int64_t from = x.shape()[i], to = shape[lead + i];
    TLM_CHECK(from == to || from == 1, "expand: {} cannot be expanded to {} (dimension {}: {} vs {})",
              shape_str(x.shape()), shape_str(shape), lead + i, from, to);
    st[lead + i] = from == 1 && to != 1 ? 0 : x.strides()[i];
  }
  return Tensor::make_view(x, shape, st, x.offset());
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      TLM_CHECK(infer_at < 0, "{}: shape {} has more than one -1", op, shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      TLM_CHECK(out[i] >= 0, "{}: negative dimension in shape {}", op, shape_str(shape));
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    TLM_CHECK(known > 0 && numel % known == 0, "{}: cannot infer -1 in {} for {} elements", op,
              shape_str(shape), numel);
    out[infer_at] = numel / known;
  }
  TLM_CHECK(shape_numel(out) == numel, "{}: shape {} has {} elements, the input has {}", op,
            shape_str(out), shape_numel(out), numel);
  return out;
}

Tensor reshape_view(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous()) return Tensor::make_view(x, shape, contiguous_strides(shape), x.offset());
  return Tensor();
}

}  // namespace tlm::views
