// A matrix product on bf16 inputs with fp32 accumulation, on the CPU's AVX-512 BF16 dot
// products (VDPBF16PS: 16 fp32 lanes, each += a[2i] b[2i] + a[2i+1] b[2i+1]).
//
//   C = alpha op(A) op(B) + beta C,   op(A) [M,K], op(B) [K,N], row-major, as blas_gemm
//
// A and B are fp32 in memory; packing rounds them to bf16 (nearest even, subnormals flushed
// to zero, as the instruction does) into k-pairs: A as [M/12][K/2][12] and B as
// [N/32][K/2][32] pairs, so each step of the 12 x 32 micro-kernel is two loads of B, twelve
// broadcasts of A and 24 dot products. The bf16 products are exact in fp32, so on inputs that
// are already bf16 values the result is sgemm's up to the order of the fp32 sums: that is what
// precision = bf16 computes (autograd/precision.h), at up to twice sgemm's FLOP rate.
// bench_tensor --benchmark_filter=BM_GemmBf16 compares the two in one run (bench/RESULTS.md).
//
// OpenBLAS has sbgemm for this from 0.3.10, but Debian 12's build (0.3.21) does not export
// it; this kernel is tlm's own. It needs AVX-512 BF16 (Cooper Lake, Sapphire Rapids, Zen 4
// and later): check bf16_gemm_supported() first.
#pragma once

#include <cstdint>

namespace tlm::kernels {

// True when the CPU runs AVX-512 BF16 (bf16_gemm may be called).
bool bf16_gemm_supported();

// Arguments as blas_gemm<float>; beta = 0 never reads C. Threads over output tiles when
// called outside a parallel region and the product is large enough, else runs on the caller.
void bf16_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace tlm::kernels
