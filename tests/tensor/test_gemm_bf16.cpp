// The AVX-512 BF16 product (tensor/kernels/gemm_bf16.h) against a float64 product of the
// inputs rounded to bf16 by the scalar round-to-nearest-even of tensor/half.h: every
// transpose layout, edge tiles (M not a multiple of 12, N of 32, K odd), padded leading
// dimensions, alpha and beta, and the threaded path against the one-thread path.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/half.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/tensor.h"

namespace tlm {
namespace {

struct Operands {
  int64_t M, N, K, lda, ldb, ldc;
  bool ta, tb;
  std::vector<float> A, B, C;
};

// A stored [M,K] (or [K,M] when ta) and B [K,N] (or [N,K] when tb), each with 3 columns of
// padding; C [M,N] with 5, its padding holding a sentinel.
Operands make(int64_t M, int64_t N, int64_t K, bool ta, bool tb, uint64_t seed) {
  Operands o{M, N, K, (ta ? M : K) + 3, (tb ? K : N) + 3, N + 5, ta, tb, {}, {}, {}};
  Rng rng(seed);
  auto fill = [&](std::vector<float>& v, int64_t rows, int64_t ld) {
    v.assign(static_cast<size_t>(rows * ld), 0.0f);
    for (float& x : v) x = static_cast<float>(rng.normal());
  };
  fill(o.A, ta ? K : M, o.lda);
  fill(o.B, tb ? N : K, o.ldb);
  fill(o.C, M, o.ldc);
  return o;
}

float at_a(const Operands& o, int64_t m, int64_t k) {
  return o.ta ? o.A[k * o.lda + m] : o.A[m * o.lda + k];
}
float at_b(const Operands& o, int64_t k, int64_t n) {
  return o.tb ? o.B[n * o.ldb + k] : o.B[k * o.ldb + n];
}
float bf16(float x) { return bf16_to_float(float_to_bf16(x)); }

std::vector<float> run(const Operands& o, float alpha, float beta) {
  std::vector<float> c = o.C;
  kernels::bf16_gemm(o.ta, o.tb, o.M, o.N, o.K, alpha, o.A.data(), o.lda, o.B.data(), o.ldb, beta,
                     c.data(), o.ldc);
  return c;
}

TEST(GemmBf16, MatchesTheProductOfRoundedInputsInEveryLayout) {
  if (!kernels::bf16_gemm_supported()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const int64_t shapes[][3] = {{1, 1, 1},   {12, 32, 2},  {13, 33, 3},   {25, 70, 31},
                               {100, 65, 129}, {37, 1, 64}, {5, 200, 257}, {97, 96, 40}};
  uint64_t seed = 1;
  for (const auto& s : shapes)
    for (int layout = 0; layout < 4; ++layout)
      for (float beta : {0.0f, 1.25f}) {
        const bool ta = layout & 1, tb = layout & 2;
        Operands o = make(s[0], s[1], s[2], ta, tb, seed++);
        std::vector<float> c_in = o.C;
        if (beta == 0.0f)  // beta = 0 must not read C: NaN there would leak into the output
          for (int64_t i = 0; i < o.M; ++i)
            for (int64_t j = 0; j < o.N; ++j)
              o.C[i * o.ldc + j] = std::numeric_limits<float>::quiet_NaN();
        const float alpha = 0.75f;
        std::vector<float> c = run(o, alpha, beta);
        for (int64_t i = 0; i < o.M; ++i) {
          for (int64_t j = 0; j < o.N; ++j) {
            double exact = 0, magnitude = 0;
            for (int64_t k = 0; k < o.K; ++k) {
              const double p = static_cast<double>(bf16(at_a(o, i, k))) * bf16(at_b(o, k, j));
              exact += p;
              magnitude += std::abs(p);
            }
            const double want = alpha * exact + beta * static_cast<double>(c_in[i * o.ldc + j]);
            // fp32 sums of exact products: a few ulps of the sum of magnitudes.
            const double tol = 4e-6 * (alpha * magnitude + std::abs(beta * c_in[i * o.ldc + j])) + 1e-30;
            ASSERT_NEAR(c[i * o.ldc + j], want, tol)
                << "M" << o.M << " N" << o.N << " K" << o.K << " ta" << ta << " tb" << tb
                << " beta" << beta << " at (" << i << "," << j << ")";
          }
          for (int64_t j = o.N; j < o.ldc; ++j)
            ASSERT_EQ(c[i * o.ldc + j], o.C[i * o.ldc + j]) << "padding of C written at row " << i;
        }
      }
}

// A product large enough to be threaded gives bit for bit what one thread gives (each output
// tile is summed by one thread in the same order either way).
TEST(GemmBf16, ThreadedEqualsOneThread) {
  if (!kernels::bf16_gemm_supported()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  for (int layout = 0; layout < 4; ++layout) {
    Operands o = make(301, 170, 130, layout & 1, layout & 2, 50 + layout);
    std::vector<float> threaded = run(o, 1.0f, 0.5f);
    std::vector<float> single;
#pragma omp parallel num_threads(2)
    {
      // Inside an active parallel region the kernel runs on its caller alone.
#pragma omp single
      single = run(o, 1.0f, 0.5f);
    }
    ASSERT_EQ(threaded, single) << "layout " << layout;
  }
}

}  // namespace
}  // namespace tlm
