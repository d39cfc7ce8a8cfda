// Matrix products through BLAS (cblas_sgemm / cblas_dgemm).
//
// The last two dimensions of each operand may be row-major or a transposed (column-major)
// view: the layout is passed to BLAS as a transpose flag, never copied. Only views that are
// neither (e.g. a stride-2 slice) are made contiguous first.
#pragma once

#include <cstdint>
#include <utility>

#include "tensor/tensor.h"

namespace tlm::kernels {

// How a float32 product reads its inputs: as they are (sgemm), or rounded to bf16 with fp32
// accumulation (precision = bf16): on AVX-512 BF16 dot products when the CPU has them
// (kernels/gemm_bf16.h), else sgemm, which the caller then must give bf16-rounded inputs.
// Float64 products ignore it.
enum class GemmInputs : uint8_t { F32, BF16 };

// a [..., M, K] x b [..., K, N] -> [..., M, N]; the batch dimensions of a and b must be equal.
Tensor matmul(const Tensor& a, const Tensor& b, GemmInputs inputs = GemmInputs::F32);
// Two independent products (a backward pass's dA and dB), computed concurrently, one per
// thread, when they are small enough for that to beat threading each one.
std::pair<Tensor, Tensor> matmul_pair(const Tensor& a1, const Tensor& b1, const Tensor& a2,
                                      const Tensor& b2, GemmInputs inputs = GemmInputs::F32);
// The two products of a Linear's backward, dx = g W [M, K] and dW = g^T x [N, K], for g [M, N]
// and x [M, K] contiguous and w [N, K] with contiguous rows. With several threads both are cut
// by token rows: thread t computes dx for its rows and a partial dW over its rows (split K),
// and the partial dWs are added in thread order. Each thread then reads only the rows of g
// and x its own core wrote in the forward and the backward so far (blas_gemm and the
// elementwise kernels split rows the same way) and writes the dx rows the next kernel reads
// there: on this machine a core reads what the other core wrote at a third of the speed of
// its own data. Small products (test models) go through matmul_pair. With db, the bias
// gradient (the sum of g's rows) too, each thread summing its own rows in the same region,
// exactly as sum_axis(g, 0) does (the same 64-row blocks in the same order: the same bits).
std::pair<Tensor, Tensor> linear_grads(const Tensor& g, const Tensor& w, const Tensor& x,
                                       Tensor* db = nullptr);

// The one call into BLAS, for every product in tlm (matmul, Linear, the attention tiles):
// row-major C[M,N] = alpha op(A) op(B) + beta C, op = transpose when ta / tb, T = float or
// double. beta = 0 is done as "zero C, then accumulate" (beta = 1): OpenBLAS's own beta = 0
// path clears C in a separate slow pass (sgemm_beta); memset is nearly free. Measured 1.06-1.09x
// on the baby Linear shapes (768 x 128 x 128/384, 2 threads) and 1.23x on a 64 x 64 x 32
// attention tile (1 thread): bench_tensor --benchmark_filter=BM_GemmBetaZero.
//
// Threads: outside a parallel region, a product of at least kGemmSplitWork multiply-adds is
// cut along the larger side of C into one block per thread, and each block is one
// single-threaded BLAS call (OpenBLAS's OpenMP build runs single-threaded inside a parallel
// region). OpenBLAS's own threading shares packed panels between the threads and waits for
// them at spin barriers (sched_yield); on the transformer shapes the blocks are faster:
// 1.2-1.45x on the baby Linear shapes, 1.05-1.10x at width 384, 2 threads
// (bench_tensor --benchmark_filter=BM_GemmSplit). The last bits of C may depend on the thread
// count: OpenBLAS takes its unpacked small-matrix kernel for small enough blocks.
//
// One-row products (M = 1, each block of one when split by columns) go to gemv, which reads B
// once instead of packing it: 1-token steps of sampling with the KV cache.
//
// row_init (N values, optional): C starts as row_init in every row instead of beta C (a
// Linear's bias). Each thread writes its own block's rows just before its product, so they
// are in that core's cache when the product adds onto them, in the same parallel region.
constexpr double kGemmSplitWork = 262144;  // M N K; OpenBLAS's own single-thread bound
constexpr int64_t kGemmSplitAlign = 16;     // block sides: a multiple of the kernel's tile
template <class T>
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
               int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
               const T* row_init = nullptr);

// c = alpha * a x b + beta * c, into an existing contiguous c (accumulating gradients).
void matmul_into(Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta,
                 GemmInputs inputs = GemmInputs::F32);
// True when the last two dimensions are a transposed view of a row-major matrix (stride 1
// down the rows) and not also plain row-major.
bool is_column_major(const Tensor& t);
// The name of the BLAS library and its kernel, e.g. "OpenBLAS 0.3.21 (Haswell)".
std::string blas_info();

}  // namespace tlm::kernels
