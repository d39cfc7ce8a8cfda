// Reductions along one axis (sum, max with argmax, logsumexp), whole-tensor sums, and
// sum_to (the reduction that undoes broadcasting, used by every broadcasting backward).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tlm::kernels {

// Sum over `axis`; the axis is kept with size 1 when keepdim.
// A sum over the rows of a [rows, C] tensor with more than one block of kSumRowBlock rows goes
// by blocks: each block summed in row order (sum_row_blocks, on the thread whose rows they
// are), then the block sums in block order; the result does not depend on the thread count.
Tensor sum_axis(const Tensor& x, int64_t axis, bool keepdim);
constexpr int64_t kSumRowBlock = 64;
// block_sums[b] = the sum of rows [b kSumRowBlock, (b + 1) kSumRowBlock) of x [rows, C] (the
// last block cut at row_hi), for the blocks of rows [row_lo, row_hi); row_lo a multiple of
// kSumRowBlock. The blocks of sum_axis, for a kernel that sums rows it already reads
// (kernels::linear_grads' bias gradient).
template <class T>
void sum_row_blocks(const T* x, int64_t C, int64_t row_lo, int64_t row_hi, T* block_sums) {
  for (int64_t b = row_lo / kSumRowBlock; b * kSumRowBlock < row_hi; ++b) {
    T* __restrict dst = block_sums + b * C;
    for (int64_t i = 0; i < C; ++i) dst[i] = T(0);
    const int64_t end = (b + 1) * kSumRowBlock < row_hi ? (b + 1) * kSumRowBlock : row_hi;
    for (int64_t k = b * kSumRowBlock; k < end; ++k) {
      const T* __restrict src = x + k * C;
#pragma omp simd
      for (int64_t i = 0; i < C; ++i) dst[i] += src[i];
    }
  }
}
// out[i] = the sum over b of block_sums[b][i], in block order, for columns [col_lo, col_hi):
// the second half of sum_axis's sum of many rows (each thread a range of columns).
template <class T>
void add_block_sums(const T* block_sums, int64_t blocks, int64_t C, int64_t col_lo,
                    int64_t col_hi, T* out) {
  for (int64_t i = col_lo; i < col_hi; ++i) {
    T acc = 0;
    for (int64_t b = 0; b < blocks; ++b) acc += block_sums[b * C + i];
    out[i] = acc;
  }
}
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
