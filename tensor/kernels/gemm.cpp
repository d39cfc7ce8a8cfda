#include "tensor/kernels/gemm.h"

#include "tensor/profile.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/parallel.h"
#include "tensor/kernels/reduce.h"
#include "tensor/view.h"

extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
}

namespace tlm::kernels {
namespace {

// How BLAS should read the last two dimensions (rows x cols) of a tensor.
struct MatrixLayout {
  bool ok = false;          // false: needs a contiguous copy first
  bool transposed = false;  // column-major: pass CblasTrans
  int64_t ld = 0;           // leading dimension
};

MatrixLayout layout_of(const Tensor& t) {
  const int64_t d = t.dim();
  const int64_t rows = t.shape()[d - 2], cols = t.shape()[d - 1];
  const int64_t s0 = t.strides()[d - 2], s1 = t.strides()[d - 1];
  MatrixLayout l;
  if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= std::max<int64_t>(cols, 1))) {
    l.ok = true;
    l.ld = rows == 1 ? std::max<int64_t>(cols, 1) : s0;
  } else if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= std::max<int64_t>(rows, 1))) {
    l.ok = true;
    l.transposed = true;
    l.ld = cols == 1 ? std::max<int64_t>(rows, 1) : s1;
  }
  return l;
}

void check_shapes(const Tensor& a, const Tensor& b, const char* op) {
  TLM_CHECK(a.dim() >= 2 && b.dim() >= 2, "{}: {} x {}: expected at least 2-D inputs", op,
            shape_str(a.shape()), shape_str(b.shape()));
  TLM_CHECK(a.shape().back() == b.shape()[b.dim() - 2],
            "{}: {} x {}: inner dimensions {} and {} differ", op, shape_str(a.shape()),
            shape_str(b.shape()), a.shape().back(), b.shape()[b.dim() - 2]);
  TLM_CHECK(a.dim() == b.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()),
            "{}: {} x {}: batch dimensions differ", op, shape_str(a.shape()), shape_str(b.shape()));
  TLM_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ: {} and {}", op, a.str(), b.str());
}

// One sgemm/dgemm call on a block of C, with beta = 0 done as "zero C, then accumulate", and
// row_init as "copy it into every row, then accumulate".
template <class T>
void gemm_block(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                const T* row_init) {
  if (row_init) {
    for (int64_t i = 0; i < M; ++i) std::copy(row_init, row_init + N, C + i * ldc);
    beta = T(1);
  } else if (beta == T(0)) {
    // BLAS never reads C when beta = 0 (a NaN there is overwritten); neither does this.
    if (ldc == N) {
      std::memset(C, 0, sizeof(T) * static_cast<size_t>(M * N));
    } else {
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(T) * static_cast<size_t>(N));
    }
    beta = T(1);
  }
  if (M == 1) {
    // One row of C (a token at a time: sampling with the KV cache) is a matrix-vector product,
    // c = op(B)^T a. sgemm would pack all of B for one row (sgemm_incopy was 27 % of
    // `tlm sample` at width 384); gemv streams B once. a's elements are lda apart when ta.
    const int64_t inc_a = ta ? lda : 1;
    const auto fv = tb ? CblasNoTrans : CblasTrans;  // B [N,K] (tb) or [K,N]
    const int64_t rows = tb ? N : K, cols = tb ? K : N;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemv(CblasRowMajor, fv, rows, cols, alpha, B, ldb, A, inc_a, beta, C, 1);
    } else {
      cblas_dgemv(CblasRowMajor, fv, rows, cols, alpha, B, ldb, A, inc_a, beta, C, 1);
    }
    return;
  }
  auto fa = ta ? CblasTrans : CblasNoTrans;
  auto fb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, fa, fb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, fa, fb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

}  // namespace

template <class T>
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
               int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
               const T* row_init) {
  if (M <= 0 || N <= 0) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t extent = std::max(M, N);
  if (threads < 2 || static_cast<double>(M) * N * K < kGemmSplitWork ||
      extent < 2 * kGemmSplitAlign) {
    gemm_block(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, row_init);
    return;
  }
  // The larger of C's two sides is cut into one block per thread; inside the parallel region
  // OpenBLAS runs each block single-threaded (its OpenMP build checks omp_in_parallel).
  const bool by_rows = M >= N;
  int64_t chunk = (extent + threads - 1) / threads;
  chunk = (chunk + kGemmSplitAlign - 1) / kGemmSplitAlign * kGemmSplitAlign;
  const int parts = static_cast<int>((extent + chunk - 1) / chunk);
#pragma omp parallel num_threads(parts)
  {
    // A loop, not one block per thread id: the runtime may give fewer threads than asked.
    for (int part = omp_get_thread_num(); part < parts; part += omp_get_num_threads()) {
      const int64_t lo = part * chunk, n = std::min(extent, lo + chunk) - lo;
      if (by_rows) {  // rows lo.. of op(A) and of C
        gemm_block(ta, tb, n, N, K, alpha, A + (ta ? lo : lo * lda), lda, B, ldb, beta,
                   C + lo * ldc, ldc, row_init);
      } else {        // columns lo.. of op(B) and of C
        gemm_block(ta, tb, M, n, K, alpha, A, lda, B + (tb ? lo * ldb : lo), ldb, beta,
                   C + lo, ldc, row_init ? row_init + lo : nullptr);
      }
    }
  }
}
template void blas_gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                               int64_t, const float*, int64_t, float, float*, int64_t,
                               const float*);
template void blas_gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                int64_t, const double*, int64_t, double, double*, int64_t,
                                const double*);

void matmul_into(Tensor& c, const Tensor& a_in, const Tensor& b_in, double alpha, double beta,
                 GemmInputs inputs) {
  TLM_PROFILE(Matmul);
  check_shapes(a_in, b_in, "matmul");
  Tensor a = layout_of(a_in).ok ? a_in : a_in.contiguous();
  Tensor b = layout_of(b_in).ok ? b_in : b_in.contiguous();
  const int64_t d = a.dim();
  const int64_t M = a.shape()[d - 2], K = a.shape()[d - 1], N = b.shape()[d - 1];
  Shape out_shape(a.shape().begin(), a.shape().end() - 1);
  out_shape.push_back(N);
  TLM_CHECK(c.shape() == out_shape && c.is_contiguous() && c.dtype() == a.dtype(),
            "matmul: output {} does not match {} x {}", c.str(), shape_str(a.shape()),
            shape_str(b.shape()));
  MatrixLayout la = layout_of(a), lb = layout_of(b);
  const int64_t batch = shape_numel(Shape(a.shape().begin(), a.shape().end() - 2));
  if (M == 0 || N == 0 || batch == 0) return;
  Shape batch_shape(a.shape().begin(), a.shape().end() - 2);
  batch_shape.push_back(1);  // row_offsets walks all dims but the last
  Strides sa(a.strides().begin(), a.strides().end() - 2), sb(b.strides().begin(), b.strides().end() - 2);
  sa.push_back(0);
  sb.push_back(0);
  dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* cp = c.data<T>();
    bool bf16 = false;
    if constexpr (std::is_same_v<T, float>)
      bf16 = inputs == GemmInputs::BF16 && bf16_gemm_supported();
    auto one = [&](int64_t i) {
      const Strides* st[2] = {&sa, &sb};
      int64_t off[2] = {0, 0};
      if (batch > 1) row_offsets(i, batch_shape, st, 2, off);
      if constexpr (std::is_same_v<T, float>) {
        if (bf16) {
          bf16_gemm(la.transposed, lb.transposed, M, N, K, static_cast<T>(alpha), ap + off[0],
                    la.ld, bp + off[1], lb.ld, static_cast<T>(beta), cp + i * M * N, N);
          return;
        }
      }
      blas_gemm<T>(la.transposed, lb.transposed, M, N, K, static_cast<T>(alpha), ap + off[0], la.ld,
              bp + off[1], lb.ld, static_cast<T>(beta), cp + i * M * N, N);
    };
    // Many small products: one per thread (BLAS runs single-threaded inside a parallel
    // region). Few large ones: blas_gemm cuts each into per-thread blocks. A batch whose total work is tiny
    // (attention of a short sequence) stays on one thread: waking the team costs more.
    const bool small = M * N * K < (1 << 21);
    const bool tiny_total = batch * M * N * K < kParallelGrain;
    if (batch > 1 && small) {
#pragma omp parallel for schedule(static) if (!tiny_total)
      for (int64_t i = 0; i < batch; ++i) one(i);
    } else {
      for (int64_t i = 0; i < batch; ++i) one(i);
    }
  });
  c.bump_version();
}

Tensor matmul(const Tensor& a, const Tensor& b, GemmInputs inputs) {
  check_shapes(a, b, "matmul");
  Shape out_shape(a.shape().begin(), a.shape().end() - 1);
  out_shape.push_back(b.shape().back());
  Tensor c = Tensor::empty(out_shape, a.dtype());
  if (a.shape().back() == 0) {
    c.fill_(0.0);
    return c;
  }
  matmul_into(c, a, b, 1.0, 0.0, inputs);
  return c;
}

std::pair<Tensor, Tensor> matmul_pair(const Tensor& a1, const Tensor& b1, const Tensor& a2,
                                      const Tensor& b2, GemmInputs inputs) {
  auto flops = [](const Tensor& a, const Tensor& b) {
    return static_cast<double>(shape_numel(a.shape())) * static_cast<double>(b.shape().back());
  };
  // Two threads each running one single-threaded GEMM keep both cores busy with no
  // synchronisation until the end. Large products (which blas_gemm cuts into per-thread
  // blocks) and batched ones (already parallel over the batch) go one after the other; so do
  // tiny ones (test models, decoding), where waking the second thread costs more than the
  // product, and on a loaded machine up to a scheduler time slice.
  const double f1 = flops(a1, b1), f2 = flops(a2, b2);
  const bool concurrent = omp_get_max_threads() >= 2 && !omp_in_parallel() && a1.dim() == 2 &&
                          a2.dim() == 2 && std::max(f1, f2) < 1.5e8 &&
                          std::min(f1, f2) >= kParallelGrain;
  std::pair<Tensor, Tensor> out;
  if (!concurrent) {
    out.first = matmul(a1, b1, inputs);
    out.second = matmul(a2, b2, inputs);
    return out;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(2)
  {
    try {
      if (omp_get_thread_num() == 0) out.first = matmul(a1, b1, inputs);
      else out.second = matmul(a2, b2, inputs);
    } catch (...) {
#pragma omp critical
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

std::pair<Tensor, Tensor> linear_grads(const Tensor& g, const Tensor& w, const Tensor& x,
                                       Tensor* db) {
  TLM_CHECK(g.dim() == 2 && x.dim() == 2 && w.dim() == 2 && g.is_contiguous() &&
                x.is_contiguous() && w.strides()[1] == 1 && g.size(0) == x.size(0) &&
                g.size(1) == w.size(0) && x.size(1) == w.size(1) && g.dtype() == x.dtype() &&
                g.dtype() == w.dtype(),
            "linear_grads: g {}, w {}, x {} must be [M,N], [N,K] (rows contiguous), [M,K] "
            "contiguous, one dtype", g.str(), w.str(), x.str());
  const int64_t M = g.size(0), N = g.size(1), K = x.size(1);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Parts of whole 64-row blocks: the blocks of the bias gradient's sum (kSumRowBlock).
  int64_t chunk = (M + threads - 1) / std::max(threads, 1);
  chunk = (chunk + kSumRowBlock - 1) / kSumRowBlock * kSumRowBlock;
  const int parts = chunk > 0 ? static_cast<int>((M + chunk - 1) / chunk) : 0;
  if (parts < 2 || static_cast<double>(M) * N * K < 2 * kGemmSplitWork) {
    if (db) *db = sum_axis(g, 0, false);
    return matmul_pair(g, w, views::transpose(g, 0, 1), x);
  }
  TLM_PROFILE(Matmul);
  Tensor dx = Tensor::empty({M, K}, g.dtype());
  Tensor dw = Tensor::empty({N, K}, g.dtype());
  Tensor partial = Tensor::empty({parts - 1, N, K}, g.dtype());  // parts 1.. of dW
  const int64_t blocks = (M + kSumRowBlock - 1) / kSumRowBlock;
  Tensor block_sums = db ? Tensor::empty({blocks, N}, g.dtype()) : Tensor();
  if (db) *db = Tensor::empty({N}, g.dtype());
  dispatch_floating(g.dtype(), "linear_grads", [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    const T* wp = w.data<T>();
    const T* xp = x.data<T>();
    T* dxp = dx.data<T>();
    T* dwp = dw.data<T>();
    T* pp = partial.data<T>();
    T* bsp = db ? block_sums.data<T>() : nullptr;
    T* dbp = db ? db->data<T>() : nullptr;
    const int64_t ldw = w.strides()[0];
#pragma omp parallel num_threads(parts)
    {
      // A loop, not one part per thread id: the runtime may give fewer threads than asked.
      for (int part = omp_get_thread_num(); part < parts; part += omp_get_num_threads()) {
        const int64_t lo = part * chunk, n = std::min(M, lo + chunk) - lo;
        gemm_block<T>(false, false, n, K, N, T(1), gp + lo * N, N, wp, ldw, T(0), dxp + lo * K, K,
                      nullptr);                                                       // dx rows
        gemm_block<T>(true, false, N, K, n, T(1), gp + lo * N, N, xp + lo * K, K, T(0),
                      part == 0 ? dwp : pp + (part - 1) * N * K, K, nullptr);        // dW part
        if (bsp) sum_row_blocks(gp, N, lo, lo + n, bsp);                             // db part
      }
#pragma omp barrier
      if (dbp) {  // the block sums added in block order, each thread a range of columns
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        add_block_sums(bsp, blocks, N, t * N / nt, (t + 1) * N / nt, dbp);
      }
#pragma omp for schedule(static)
      for (int64_t r = 0; r < N; ++r) {
        T* dst = dwp + r * K;
        for (int p = 1; p < parts; ++p) {
          const T* src = pp + ((p - 1) * N + r) * K;
#pragma omp simd
          for (int64_t k = 0; k < K; ++k) dst[k] += src[k];
        }
      }
    }
  });
  return {dx, dw};
}

bool is_column_major(const Tensor& t) {
  if (t.dim() < 2) return false;
  const int64_t d = t.dim();
  if (t.shape()[d - 1] == 1 || t.shape()[d - 2] == 1) return false;
  MatrixLayout l = layout_of(t);
  return l.ok && l.transposed;
}

std::string blas_info() {
  return fmt::format("OpenBLAS ({}; kernel {}; {} threads)", openblas_get_config(),
                     openblas_get_corename(), openblas_get_num_threads());
}

}  // namespace tlm::kernels
