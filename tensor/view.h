// Raw views: new shape/strides/offset over the same storage, no data moved, no autograd.
// The differentiable versions (autograd/ops.h) are built on these.
#pragma once

#include "tensor/tensor.h"

namespace tlm::views {

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length);
Tensor expand(const Tensor& x, const Shape& shape);
// Resolves one -1 entry and checks the element count; `op` names the caller in errors.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op);
// A view with the new shape when the strides allow it (always for contiguous x), else an
// undefined tensor (the caller copies).
Tensor reshape_view(const Tensor& x, const Shape& shape);

}  // namespace tlm::views
