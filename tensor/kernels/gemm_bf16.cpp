#include "tensor/kernels/gemm_bf16.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "tensor/half.h"
#include "tensor/kernels/parallel.h"
#include "tensor/tensor.h"

namespace tlm::kernels {
namespace {

constexpr int64_t kRows = 12;        // micro-kernel rows (A panel width)
constexpr int64_t kCols = 32;        // micro-kernel columns: two 16-lane registers
constexpr int64_t kRowPanels = 8;    // A panels per block: 96 rows x K stay in L2 across B
#define TLM_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

__mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1);
}

// One panel of `width` indices m (m0 .. m0+count-1 valid, the rest zero) and all K, packed as
// k-pairs: dst[p * width + m] holds (x(m, 2p), x(m, 2p+1)) as bf16, the even k in the low half.
// x(m, k) = src[m * ld + k] when k_contiguous, else src[k * ld + m].
TLM_BF16_TARGET void pack_panel(const float* src, int64_t ld, bool k_contiguous, int64_t m0,
                                int64_t count, int64_t K, int64_t width, uint32_t* dst) {
  const int64_t pairs = (K + 1) / 2;
  if (k_contiguous) {
    alignas(64) uint32_t tmp[16];
    for (int64_t m = 0; m < width; ++m) {
      if (m >= count) {
        for (int64_t p = 0; p < pairs; ++p) dst[p * width + m] = 0;
        continue;
      }
      const float* row = src + (m0 + m) * ld;
      for (int64_t k0 = 0; k0 < K; k0 += 32) {
        const int64_t n = std::min<int64_t>(32, K - k0);
        const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(n), row + k0);
        const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(n - 16), row + k0 + 16);
        _mm512_store_si512(tmp, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        const int64_t np = (n + 1) / 2;
        uint32_t* d = dst + (k0 / 2) * width + m;
        for (int64_t q = 0; q < np; ++q) d[q * width] = tmp[q];
      }
    }
    return;
  }
  // Pairs of source rows 2p, 2p+1: convert both, then interleave them element by element.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                              24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                              16, 0);
  for (int64_t p = 0; p < pairs; ++p) {
    const float* r0 = src + (2 * p) * ld + m0;
    const float* r1 = 2 * p + 1 < K ? r0 + ld : nullptr;
    for (int64_t m = 0; m < width; m += 16) {
      const __mmask16 mask = first_lanes(std::min<int64_t>(count - m, width - m));
      const __m512 lo = _mm512_maskz_loadu_ps(mask, r0 + m);
      const __m512 hi = r1 ? _mm512_maskz_loadu_ps(mask, r1 + m) : _mm512_setzero_ps();
      const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
      const __m512i pairs16 = _mm512_permutexvar_epi16(interleave, both);
      _mm512_mask_storeu_epi32(dst + p * width + m, first_lanes(width - m), pairs16);
    }
  }
}

// C[rows, cols] = alpha * (A panel . B panel) + beta * C over `pairs` k-pairs (rows <= 12,
// cols <= 32; a partial tile stores through masks).
TLM_BF16_TARGET void micro_kernel(int64_t pairs, const uint32_t* a, const uint32_t* b, float alpha,
                                  float beta, float* C, int64_t ldc, int64_t rows, int64_t cols) {
  __m512 acc[kRows][2];
  for (int64_t r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * kCols);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * kCols + 16);
#pragma GCC unroll 12
    for (int64_t r = 0; r < kRows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[p * kRows + r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t r = 0; r < rows; ++r) {
    float* c = C + r * ldc;
    for (int64_t h = 0; h < 2; ++h) {
      const __mmask16 mask = first_lanes(cols - 16 * h);
      if (!mask) break;
      __m512 out = _mm512_mul_ps(va, acc[r][h]);
      if (beta != 0.0f) out = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, c + 16 * h), out);
      _mm512_mask_storeu_ps(c + 16 * h, mask, out);
    }
  }
}

}  // namespace

bool bf16_gemm_supported() { return cpu_has_avx512_bf16() && __builtin_cpu_supports("avx512bw"); }

void bf16_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  TLM_CHECK(bf16_gemm_supported(), "bf16_gemm: this CPU has no AVX-512 BF16");
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = beta C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  const int64_t pairs = (K + 1) / 2;
  const int64_t row_panels = (M + kRows - 1) / kRows, col_panels = (N + kCols - 1) / kCols;
  const int64_t row_blocks = (row_panels + kRowPanels - 1) / kRowPanels;
  // Packed operands from the caching allocator (no page faults in the steady state).
  Tensor a_pack = Tensor::empty({row_panels * pairs * kRows}, DType::I32);
  Tensor b_pack = Tensor::empty({col_panels * pairs * kCols}, DType::I32);
  auto* ap = reinterpret_cast<uint32_t*>(a_pack.data<int32_t>());
  auto* bp = reinterpret_cast<uint32_t*>(b_pack.data<int32_t>());
  // op(A)(m, k): A[m, k] (k contiguous) unless ta; op(B)(k, n): B[n, k] (k contiguous) when tb.
  const bool threads = !omp_in_parallel() && M * N * K >= 64 * kParallelGrain;
#pragma omp parallel if (threads)
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < row_panels; ++i)
      pack_panel(A, lda, !ta, i * kRows, std::min(kRows, M - i * kRows), K, kRows,
                 ap + i * pairs * kRows);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < col_panels; ++j)
      pack_panel(B, ldb, tb, j * kCols, std::min(kCols, N - j * kCols), K, kCols,
                 bp + j * pairs * kCols);
    // A block of row panels stays in cache while every column panel passes by.
#pragma omp for collapse(2) schedule(static)
    for (int64_t ib = 0; ib < row_blocks; ++ib)
      for (int64_t j = 0; j < col_panels; ++j) {
        const int64_t i_end = std::min(row_panels, (ib + 1) * kRowPanels);
        for (int64_t i = ib * kRowPanels; i < i_end; ++i)
          micro_kernel(pairs, ap + i * pairs * kRows, bp + j * pairs * kCols, alpha, beta,
                       C + i * kRows * ldc + j * kCols, ldc, std::min(kRows, M - i * kRows),
                       std::min(kCols, N - j * kCols));
      }
  }
}

}  // namespace tlm::kernels
