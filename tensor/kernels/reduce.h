// Reductions along one axis (sum, max with argmax, logsumexp), whole-tensor sums, and
// sum_to (the reduction that undoes broadcasting, used by every broadcasting backward).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tlm::kernels {

// Sum over `axis`; the axis is kept with size 1 when keepdim.
Tensor sum_axis(const Tensor& x, int64_t axis, bool keepdim);
// Max over `axis`, and the int32 index of the (first) max along it.
Tensor max_axis(const Tensor& x, int64_t axis, bool keepdim, Tensor* argmax);
// log(sum(exp(x))) over `axis`, computed as m + log(sum(exp(x - m))) with m the max.
Tensor logsumexp_axis(const Tensor& x, int64_t axis, bool keepdim);
// Sum of all elements as a 0-D tensor. Accumulates in double; deterministic for a given
// thread count (partial sums are combined in thread order).
Tensor sum_all(const Tensor& x);
// Sum of squares of all elements, as double (gradient norms).
double sum_squares(const Tensor& x);
// The sum of squares of every element of every tensor (a global gradient norm squared), in one
// parallel region: the elements are cut into fixed chunks, each summed in double, and the
// chunk sums added in order, so the result does not depend on the thread count.
double sum_squares_many(const std::vector<Tensor>& xs);
// Sums `x` down to `shape`, which must broadcast to x's shape.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace tlm::kernels
