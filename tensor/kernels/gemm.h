// Matrix products through BLAS (cblas_sgemm / cblas_dgemm).
//
// The last two dimensions of each operand may be row-major or a transposed (column-major)
// view: the layout is passed to BLAS as a transpose flag, never copied. Only views that are
// neither (e.g. a stride-2 slice) are made contiguous first.
#pragma once

#include <utility>

#include "tensor/tensor.h"

namespace tlm::kernels {

// a [..., M, K] x b [..., K, N] -> [..., M, N]; the batch dimensions of a and b must be equal.
Tensor matmul(const Tensor& a, const Tensor& b);
// Two independent products (a backward pass's dA and dB), computed concurrently, one per
// thread, when they are small enough for that to beat threading each one.
std::pair<Tensor, Tensor> matmul_pair(const Tensor& a1, const Tensor& b1, const Tensor& a2,
                                      const Tensor& b2);
// c = alpha * a x b + beta * c, into an existing contiguous c (accumulating gradients).
void matmul_into(Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta);
// True when the last two dimensions are a transposed view of a row-major matrix (stride 1
// down the rows) and not also plain row-major.
bool is_column_major(const Tensor& t);
// The name of the BLAS library and its kernel, e.g. "OpenBLAS 0.3.21 (Haswell)".
std::string blas_info();

}  // namespace tlm::kernels
