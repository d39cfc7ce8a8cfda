// Kernels against plain reference loops: matmul with every transpose layout (the BLAS flags),
// batched products, reductions, softmax, indexing; and the parallel paths against the
// serial ones on sizes above the OpenMP grain.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "tests/common/expect_error.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/parallel.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/softmax.h"
#include "tensor/view.h"

namespace tlm {
namespace {


// Reference product of the (already laid out) 2-D views a [M,K] and b [K,N].
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  int64_t M = a.shape()[0], K = a.shape()[1], N = b.shape()[1];
  std::vector<double> c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) c[i * N + j] += av[i * K + k] * bv[k * N + j];
  return c;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol) << "at " << i;
}

// matmul_pair runs the two products on two threads when both are mid-sized (a Linear's dx and
// dW), one after the other when either is tiny or large: every branch gives the naive products,
// transposed operands included (dW = g^T x reads g through a transposed view).
TEST(Gemm, MatmulPairMatchesTheNaiveProductsOnEveryBranch) {
  ASSERT_GE(omp_get_max_threads(), 2) << "the concurrent branch needs OMP_NUM_THREADS >= 2";
  Rng rng(7);
  struct Dims { int64_t M, K, N; };
  // tiny (below the OpenMP grain: sequential), mid-sized (concurrent), large (> 1.5e8: sequential)
  for (const Dims d : {Dims{3, 4, 5}, Dims{96, 64, 80}, Dims{1024, 512, 300}}) {
    Tensor g = Tensor::randn({d.M, d.N}, rng), w = Tensor::randn({d.N, d.K}, rng);
    Tensor x = Tensor::randn({d.M, d.K}, rng);
    Tensor gt = views::transpose(g, 0, 1);
    auto [dx, dw] = kernels::matmul_pair(g, w, gt, x);
    const double tol = 1e-4 * std::sqrt(static_cast<double>(std::max(d.M, d.N)));
    expect_close(dx.to_vector<double>(), naive_matmul(g, w), tol);
    expect_close(dw.to_vector<double>(), naive_matmul(gt, x), tol);
  }
}

// blas_gemm does beta = 0 as "memset C, then beta = 1": like BLAS, it must not read C (NaN
// there is overwritten), must clear only the M x N block of a C with ldc > N (the padding
// between rows keeps its values), and beta = 1 must still accumulate.
TEST(Gemm, BlasGemmBetaZeroOverwritesOnlyTheOutputBlock) {
  const int64_t M = 5, K = 7, N = 3, ldc = 6;
  Rng rng(11);
  for (bool ta : {false, true}) {
    Tensor a = Tensor::randn(ta ? Shape{K, M} : Shape{M, K}, rng, 1.0, DType::F64);
    Tensor b = Tensor::randn({N, K}, rng, 1.0, DType::F64);  // read as b^T
    const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
    std::vector<double> c(M * ldc, std::nan(""));
    for (int64_t i = 0; i < M; ++i) c[i * ldc + N] = c[i * ldc + N + 1] = c[i * ldc + N + 2] = 42.0;
    kernels::blas_gemm<double>(ta, true, M, N, K, 2.0, a.data<double>(), ta ? M : K,
                               b.data<double>(), K, 0.0, c.data(), ldc);
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        double want = 0;
        for (int64_t k = 0; k < K; ++k) want += 2.0 * (ta ? av[k * M + i] : av[i * K + k]) * bv[j * K + k];
        EXPECT_NEAR(c[i * ldc + j], want, 1e-12) << "row " << i << " col " << j;
      }
      for (int64_t j = N; j < ldc; ++j) EXPECT_EQ(c[i * ldc + j], 42.0) << "padding overwritten";
    }
    // beta = 1 accumulates onto what is there: the same product again doubles the block.
    std::vector<double> once(c);
    kernels::blas_gemm<double>(ta, true, M, N, K, 2.0, a.data<double>(), ta ? M : K,
                               b.data<double>(), K, 1.0, c.data(), ldc);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) EXPECT_NEAR(c[i * ldc + j], 2 * once[i * ldc + j], 1e-12);
  }
}

// blas_gemm cuts a large product into one block of C per thread (rows when M >= N, else
// columns), each a single-threaded sgemm: every layout, padded leading dimensions, a last block
// shorter than the others (3 threads), beta = 0 over NaN, beta != 0 and a row_init (a bias,
// over NaN) must give the float64 product and leave the padding of C alone, on 1, 2 and 3
// threads.
TEST(Gemm, BlasGemmSplitOverThreadsMatchesTheProduct) {
  struct Dims { int64_t M, N, K; };
  const int saved = omp_get_max_threads();
  Rng rng(5);
  // Rows split, columns split, and one-row products (gemv): split by columns, and whole.
  for (const Dims d : {Dims{203, 37, 70}, Dims{37, 203, 70}, Dims{1, 4099, 70}, Dims{1, 37, 70}}) {
    if (d.N != 37 || d.M != 1) {
      ASSERT_GE(static_cast<double>(d.M) * d.N * d.K, kernels::kGemmSplitWork);
    }
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? d.M : d.K) + 3, ldb = (tb ? d.K : d.N) + 5, ldc = d.N + 2;
        const int64_t a_rows = ta ? d.K : d.M, b_rows = tb ? d.N : d.K;
        const std::vector<float> a = Tensor::randn({a_rows * lda}, rng).to_vector<float>();
        const std::vector<float> b = Tensor::randn({b_rows * ldb}, rng).to_vector<float>();
        const std::vector<float> c0 = Tensor::randn({d.M * ldc}, rng).to_vector<float>();
        auto op_a = [&](int64_t i, int64_t k) { return double(ta ? a[k * lda + i] : a[i * lda + k]); };
        auto op_b = [&](int64_t k, int64_t j) { return double(tb ? b[j * ldb + k] : b[k * ldb + j]); };
        const std::vector<float> bias = Tensor::randn({d.N}, rng).to_vector<float>();
        for (float beta : {0.0f, 0.5f, -1.0f}) {  // -1: row_init = bias, beta ignored
          const bool init = beta == -1.0f;
          auto run = [&](int threads) {
            std::vector<float> c(c0);
            if (beta == 0.0f || init)
              for (int64_t i = 0; i < d.M; ++i)
                for (int64_t j = 0; j < d.N; ++j) c[i * ldc + j] = std::nanf("");
            omp_set_num_threads(threads);
            kernels::blas_gemm<float>(ta, tb, d.M, d.N, d.K, 1.5f, a.data(), lda, b.data(), ldb,
                                      beta, c.data(), ldc, init ? bias.data() : nullptr);
            omp_set_num_threads(saved);
            return c;
          };
          for (int threads : {1, 2, 3}) {
            const std::vector<float> c = run(threads);
            for (int64_t i = 0; i < d.M; ++i) {
              for (int64_t j = 0; j < d.N; ++j) {
                double want = init ? double(bias[j]) : beta * double(c0[i * ldc + j]);
                for (int64_t k = 0; k < d.K; ++k) want += 1.5 * op_a(i, k) * op_b(k, j);
                ASSERT_NEAR(c[i * ldc + j], want, 1e-4 * std::max(1.0, std::fabs(want)))
                    << threads << " threads, M " << d.M << " N " << d.N << " ta " << ta
                    << " tb " << tb << " at " << i << "," << j;
              }
              for (int64_t j = d.N; j < ldc; ++j)
                ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]) << "padding of C overwritten";
            }
          }
        }
      }
  }
}

// A Linear's backward products split by token rows (dx rows and partial dW per thread, the
// partials added, and the bias gradient's row sums): against the two plain products, in float64 and float32, with a row count
// that leaves a short last part, on 1, 2 and 3 threads, and with a weight whose rows are
// padded (a view of a wider matrix).
TEST(Gemm, LinearGradsSplitByRowsMatchThePlainProducts) {
  const int saved = omp_get_max_threads();
  Rng rng(11);
  for (DType dtype : {DType::F64, DType::F32}) {
    const int64_t M = 203, N = 70, K = 90;
    ASSERT_GE(static_cast<double>(M) * N * K, 2 * kernels::kGemmSplitWork);
    Tensor g = Tensor::randn({M, N}, rng, 1.0, dtype), x = Tensor::randn({M, K}, rng, 1.0, dtype);
    Tensor wide = Tensor::randn({N, K + 6}, rng, 1.0, dtype);
    Tensor w = views::narrow(wide, 1, 2, K);  // rows contiguous, leading dimension K + 6
    const std::vector<double> want_dx = naive_matmul(g, w);
    const std::vector<double> want_dw = naive_matmul(views::transpose(g, 0, 1), x);
    const std::vector<double> want_db = naive_matmul(Tensor::ones({1, M}, dtype), g);
    const double tol = dtype == DType::F64 ? 1e-12 : 1e-4;
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(fmt::format("{}, {} threads", dtype_name(dtype), threads));
      omp_set_num_threads(threads);
      Tensor db;
      auto [dx, dw] = kernels::linear_grads(g, w, x, &db);
      const Tensor db_alone = kernels::sum_axis(g, 0, false);
      omp_set_num_threads(saved);
      expect_close(dx.to_vector<double>(), want_dx, tol);
      expect_close(dw.to_vector<double>(), want_dw, tol);
      EXPECT_EQ(db.to_vector<double>(), db_alone.to_vector<double>()) << "db: not sum_axis's bits";
      expect_close(db.to_vector<double>(), want_db, tol);
    }
  }
  EXPECT_TLM_ERROR(kernels::linear_grads(Tensor::zeros({4, 3}), Tensor::zeros({2, 5}), Tensor::zeros({4, 5})),
                        "linear_grads: g float32[4,3], w float32[2,5], x float32[4,5]");
}

TEST(Gemm, EveryTransposeLayoutMatchesTheNaiveProduct) {
  Rng rng(1);
  const int64_t M = 37, K = 53, N = 29;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = ta ? views::transpose(Tensor::randn({K, M}, rng), 0, 1) : Tensor::randn({M, K}, rng);
      Tensor b = tb ? views::transpose(Tensor::randn({N, K}, rng), 0, 1) : Tensor::randn({K, N}, rng);
      Tensor c = kernels::matmul(a, b);
      expect_close(c.to_vector<double>(), naive_matmul(a, b), 1e-4);
    }
}

TEST(Gemm, StridedRowsAndBatchesOfViews) {
  Rng rng(2);
  // Rows with a leading dimension larger than the width (a narrowed view): no copy needed.
  Tensor big = Tensor::randn({8, 20}, rng, 1.0, DType::F64);
  Tensor a = views::narrow(big, 1, 3, 6);
  Tensor b = Tensor::randn({6, 5}, rng, 1.0, DType::F64);
  expect_close(kernels::matmul(a, b).to_vector<double>(), naive_matmul(a, b), 1e-12);
  // Batched [B,H,T,D] views of a [B,T,H,D] tensor (the attention layout).
  Tensor qkv = Tensor::randn({2, 7, 3, 4}, rng, 1.0, DType::F64);
  Tensor q = views::permute(qkv, {0, 2, 1, 3});  // [2,3,7,4]
  Tensor kt = views::permute(qkv, {0, 2, 3, 1});  // [2,3,4,7]
  Tensor s = kernels::matmul(q, kt);
  ASSERT_EQ(s.shape(), (Shape{2, 3, 7, 7}));
  for (int64_t bi = 0; bi < 2; ++bi)
    for (int64_t h = 0; h < 3; ++h) {
      Tensor qa = views::narrow(views::narrow(q, 0, bi, 1), 1, h, 1);
      Tensor ka = views::narrow(views::narrow(kt, 0, bi, 1), 1, h, 1);
      Tensor q2 = Tensor::make_view(qa.contiguous(), {7, 4}, {4, 1}, 0);
      Tensor k2 = Tensor::make_view(ka.contiguous(), {4, 7}, {7, 1}, 0);
      Tensor sa = views::narrow(views::narrow(s, 0, bi, 1), 1, h, 1);
      expect_close(sa.to_vector<double>(), naive_matmul(q2, k2), 1e-12);
    }
}

TEST(Gemm, ShapeErrorsNameBothShapes) {
  EXPECT_TLM_ERROR(kernels::matmul(Tensor::zeros({4, 3}), Tensor::zeros({5, 2})),
                        "matmul: [4,3] x [5,2]: inner dimensions 3 and 5 differ");
  EXPECT_TLM_ERROR(kernels::matmul(Tensor::zeros({2, 4, 3}), Tensor::zeros({3, 3, 2})),
                        "matmul: [2,4,3] x [3,3,2]: batch dimensions differ");
  EXPECT_TLM_ERROR(kernels::matmul(Tensor::zeros({3}), Tensor::zeros({3, 2})),
                        "expected at least 2-D inputs");
}

TEST(Reduce, SumMaxLogsumexpAlongEachAxis) {
  Rng rng(3);
  Tensor x = Tensor::randn({3, 4, 5}, rng, 1.0, DType::F64);
  auto v = x.to_vector<double>();
  for (int64_t axis = 0; axis < 3; ++axis) {
    Tensor s = kernels::sum_axis(x, axis, false);
    Tensor idx;
    Tensor m = kernels::max_axis(x, axis, false, &idx);
    Tensor l = kernels::logsumexp_axis(x, axis, false);
    auto sv = s.to_vector<double>(), mv = m.to_vector<double>(), lv = l.to_vector<double>();
    auto iv = idx.to_vector<int32_t>();
    int64_t pos = 0;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k) {
          int64_t ijk[3] = {i, j, k};
          if (ijk[axis] != 0) continue;
          double sum = 0, mx = -1e300, se = 0;
          int best = 0;
          for (int64_t r = 0; r < x.shape()[axis]; ++r) {
            int64_t at[3] = {i, j, k};
            at[axis] = r;
            double val = v[(at[0] * 4 + at[1]) * 5 + at[2]];
            sum += val;
            if (val > mx) {
              mx = val;
              best = static_cast<int>(r);
            }
          }
          for (int64_t r = 0; r < x.shape()[axis]; ++r) {
            int64_t at[3] = {i, j, k};
            at[axis] = r;
            se += std::exp(v[(at[0] * 4 + at[1]) * 5 + at[2]] - mx);
          }
          EXPECT_NEAR(sv[pos], sum, 1e-12);
          EXPECT_EQ(mv[pos], mx);
          EXPECT_EQ(iv[pos], best);
          EXPECT_NEAR(lv[pos], mx + std::log(se), 1e-12);
          ++pos;
        }
  }
}

TEST(Reduce, SumToUndoesBroadcasting) {
  Tensor g = Tensor::ones({2, 3, 4}, DType::F64);
  EXPECT_EQ(kernels::sum_to(g, {4}).to_vector<double>(), std::vector<double>(4, 6.0));
  EXPECT_EQ(kernels::sum_to(g, {3, 1}).to_vector<double>(), std::vector<double>(3, 8.0));
  EXPECT_EQ(kernels::sum_to(g, {2, 1, 1}).to_vector<double>(), std::vector<double>(2, 12.0));
}

TEST(Softmax, StableForHugeLogitsAndFullyMaskedRows) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = Tensor::from_vector(std::vector<double>{1e4, 1e4 - 1, -1e4, -inf, -inf, -inf}, {2, 3});
  auto y = kernels::softmax(x, -1).to_vector<double>();
  EXPECT_NEAR(y[0], 1 / (1 + std::exp(-1.0)), 1e-12);
  EXPECT_NEAR(y[1], std::exp(-1.0) / (1 + std::exp(-1.0)), 1e-12);
  EXPECT_EQ(y[2], 0.0);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(y[i], 0.0);  // no NaN from an all-masked row
  auto ly = kernels::log_softmax(x, -1).to_vector<double>();
  EXPECT_NEAR(ly[0], -std::log1p(std::exp(-1.0)), 1e-12);
  for (double v : ly) EXPECT_FALSE(std::isnan(v));
}

TEST(Index, OutOfRangeIdsAreRefused) {
  Tensor table = Tensor::zeros({5, 3});
  Tensor ids = Tensor::from_vector(std::vector<int32_t>{0, 5}, {2});
  EXPECT_TLM_ERROR(kernels::index_select_rows(table, ids),
                        "index_select: index 5 is out of range [0, 5)");
  Tensor neg = Tensor::from_vector(std::vector<int32_t>{-1}, {1, 1});
  EXPECT_TLM_ERROR(kernels::gather(Tensor::zeros({1, 3}), 1, neg),
                        "gather: index -1 is out of range [0, 3)");
  EXPECT_TLM_ERROR(kernels::index_select_rows(table, Tensor::zeros({2})),
                        "indices must be int32");
}

// A single sum of many rows (a bias gradient) goes by fixed blocks of rows, each block's sum on
// the thread that owns those rows, then the blocks in order: against a plain double sum, with
// a last block that is short and a width that is not a multiple of 16.
TEST(Reduce, SumOfManyRowsByBlocksMatchesThePlainSum) {
  Rng rng(8);
  for (DType dtype : {DType::F64, DType::F32}) {
    Tensor x = Tensor::randn({601, 70}, rng, 1.0, dtype);
    ASSERT_GE(x.numel(), kernels::kParallelGrain);
    const std::vector<double> xv = x.to_vector<double>();
    std::vector<double> want(70, 0.0);
    for (int64_t r = 0; r < 601; ++r)
      for (int64_t c = 0; c < 70; ++c) want[static_cast<size_t>(c)] += xv[static_cast<size_t>(r * 70 + c)];
    expect_close(kernels::sum_axis(x, 0, false).to_vector<double>(), want,
                 dtype == DType::F64 ? 1e-11 : 1e-3);
  }
}

TEST(Parallel, LargeLoopsGiveTheSameResultOnOneAndTwoThreads) {
  Rng rng(4);
  Tensor x = Tensor::randn({300, 1000}, rng);
  Tensor b = Tensor::randn({1000}, rng);
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  auto add1 = kernels::binary(x, b, kernels::Binary::Add).to_vector<float>();
  auto gelu1 = kernels::unary(x, kernels::Unary::Gelu).to_vector<float>();
  auto sm1 = kernels::softmax(x, -1).to_vector<float>();
  auto col1 = kernels::sum_axis(x, 0, false).to_vector<float>();
  omp_set_num_threads(2);
  EXPECT_EQ(kernels::binary(x, b, kernels::Binary::Add).to_vector<float>(), add1);
  EXPECT_EQ(kernels::unary(x, kernels::Unary::Gelu).to_vector<float>(), gelu1);
  EXPECT_EQ(kernels::softmax(x, -1).to_vector<float>(), sm1);
  EXPECT_EQ(kernels::sum_axis(x, 0, false).to_vector<float>(), col1);
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace tlm

#include "tensor/kernels/vmath.h"

namespace tlm {
namespace {

// The vectorisable float functions against the C library, over their whole useful range,
// including the overflow/underflow edges and the special values.
// unary_with_derivative (GELU and SiLU keep f'(x) from the forward pass) against the plain
// kernels: y as unary() gives it, f'(x) as unary_backward() gives it for a gradient of ones,
// in float32 and float64, over a range that covers both tails, on both sides of the OpenMP
// grain (serial and parallel loops).
TEST(Elementwise, UnaryWithDerivativeMatchesUnaryAndItsBackward) {
  Rng rng(12);
  for (DType dt : {DType::F32, DType::F64}) {
    for (int64_t n : {int64_t{1000}, 3 * kernels::kParallelGrain + 5}) {
      const Tensor x = Tensor::randn({n}, rng, 4.0, dt);  // |x| up to ~16: both tails
      const Tensor ones = Tensor::full({n}, 1.0, dt);
      for (kernels::Unary op : {kernels::Unary::Gelu, kernels::Unary::GeluTanh, kernels::Unary::Silu}) {
        Tensor dydx;
        const Tensor y = kernels::unary_with_derivative(x, op, 0.0, &dydx);
        const Tensor y_ref = kernels::unary(x, op);
        const Tensor d_ref = kernels::unary_backward(ones, x, y_ref, op);
        const auto yv = y.to_vector<double>(), yr = y_ref.to_vector<double>();
        const auto dv = dydx.to_vector<double>(), dr = d_ref.to_vector<double>();
        const double tol = dt == DType::F32 ? 1e-6 : 1e-14;
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_NEAR(yv[i], yr[i], tol * std::max(1.0, std::fabs(yr[i])))
              << kernels::unary_name(op) << " y at x = " << x.to_vector<double>()[i];
          ASSERT_NEAR(dv[i], dr[i], tol * std::max(1.0, std::fabs(dr[i])))
              << kernels::unary_name(op) << " f'(x) at x = " << x.to_vector<double>()[i];
        }
      }
    }
  }
}

TEST(Vmath, FloatExpNormcdfTanhSigmoidMatchTheCLibrary) {
  double worst_exp = 0, worst_cdf = 0, worst_tanh = 0, worst_sig = 0;
  auto normcdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  for (double xd = -100.0; xd <= 88.0; xd += 0.0137) {
    float x = static_cast<float>(xd);
    double e = std::exp(double(x));
    if (e > 1e-37) worst_exp = std::max(worst_exp, std::abs(kernels::vexp(x) - e) / e);
    worst_cdf = std::max(worst_cdf, std::abs(kernels::vnormcdf(x) - normcdf(x)));
    worst_tanh = std::max(worst_tanh, std::abs(kernels::vtanh(x) - std::tanh(double(x))));
    worst_sig = std::max(worst_sig, std::abs(kernels::vsigmoid(x) - 1.0 / (1.0 + std::exp(-double(x)))));
  }
  EXPECT_LT(worst_exp, 3e-7);   // relative
  EXPECT_LT(worst_cdf, 1.5e-7);  // absolute (the fit: 8e-9; the rest is float rounding)
  EXPECT_LT(worst_tanh, 3e-7);
  EXPECT_LT(worst_sig, 3e-7);
  EXPECT_EQ(kernels::vnormcdf(0.0f), 0.5f);
  EXPECT_EQ(kernels::vnormcdf(-INFINITY), 0.0f);
  EXPECT_EQ(kernels::vnormcdf(INFINITY), 1.0f);
  EXPECT_TRUE(std::isnan(kernels::vnormcdf(NAN)));
  // Dense where the polynomial and the clamp meet their edges.
  for (float x = -6.0f; x <= 6.0f; x += 1e-4f)
    worst_cdf = std::max(worst_cdf, std::abs(kernels::vnormcdf(x) - normcdf(x)));
  EXPECT_LT(worst_cdf, 1.5e-7);
  // The fit bounds the absolute error; down to x = -3 (Phi = 1.35e-3) that is also a relative
  // 2e-5 (the form 0.5 (1 + erf(x / sqrt 2)) loses all relative accuracy there to cancellation).
  for (float x : {-1.0f, -2.0f, -3.0f})
    EXPECT_NEAR(kernels::vnormcdf(x) / normcdf(x), 1.0, 2e-5) << x;
  // tanh near 0 keeps relative accuracy
  EXPECT_NEAR(kernels::vtanh(1e-6f) / 1e-6f, 1.0f, 1e-6f);
  EXPECT_EQ(kernels::vexp(100.0f), INFINITY);
  EXPECT_EQ(kernels::vexp(-INFINITY), 0.0f);
  EXPECT_TRUE(std::isnan(kernels::vexp(NAN)));
  EXPECT_EQ(kernels::vexp(0.0f), 1.0f);
  EXPECT_GT(kernels::vexp(-100.0f), 0.0f);  // subnormal results survive
  // A subnormal float has few mantissa bits: within one subnormal step (1.4e-45).
  EXPECT_NEAR(kernels::vexp(-100.0f), static_cast<float>(std::exp(-100.0)), 1.5e-45f);
}

}  // namespace
}  // namespace tlm
