// Indexing kernels: row selection (embedding lookup) and its scatter-add, gather/scatter-add
// along an axis. Indices are int32 and range-checked: a bad id names the op, the id and the
// valid range instead of reading out of bounds.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

// out[i..., :] = x[ids[i...], :]; x is [N, ...], ids any shape -> ids.shape + x.shape[1:].
Tensor index_select_rows(const Tensor& x, const Tensor& ids);
// dst[ids[i...], :] += src[i..., :] (rows hit twice receive both contributions).
void index_add_rows_(Tensor& dst, const Tensor& ids, const Tensor& src);
// out[o, k, i] = x[o, index[o, k, i], i] along `axis` (index has x's shape except on axis).
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// dst[o, index[o, k, i], i] += src[o, k, i]
void scatter_add_(Tensor& dst, int64_t axis, const Tensor& index, const Tensor& src);

}  // namespace tlm::kernels
