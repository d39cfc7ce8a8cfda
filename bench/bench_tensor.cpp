// Micro-benchmarks of the tensor layer, each next to its baseline in the same run:
//   - matmul through the tensor API against a raw cblas_sgemm of the same shape (GFLOP/s);
//   - elementwise ops and reductions at 16M elements against a STREAM-style copy/triad
//     written with the same OpenMP (GB/s: the machine's measured memory bandwidth);
//   - softmax and a layernorm-style row reduction (GB/s);
//   - causal attention forward + backward, the tiled kernel against matmul + causal_softmax +
//     matmul, at the baby (B12 H4 T64 D32) and width-384 (B8 H6 T256 D64) shapes (GFLOP/s
//     counted as 12 B H T^2 D: q k^T and A v, forward + backward, no causal halving); and the
//     tiled kernels alone, forward and backward timed apart (BM_FlashKernels);
//   - the three GEMMs of one Linear's training step (y = x W^T, dx = dy W, dW = dy^T x) at the
//     baby config's shapes (768 tokens), raw cblas_sgemm, next to the square 1024 product:
//     how far small, skinny products sit from the BLAS's best; and the 64 x 64 x 32 product
//     the tiled attention runs per thread at the baby shape (q k^T of one tile), on 1 thread;
//   - beta = 0 as OpenBLAS does it (a separate pass that clears C) against kernels::blas_gemm
//     (memset C, then accumulate with beta = 1), at a Linear shape and the attention tile;
//   - kernels::blas_gemm's one block per thread against OpenBLAS's own threading, on a
//     Linear's three products at the baby and width-384 shapes.
// Run: make bench   (or ./build/bench_tensor --benchmark_filter=Matmul)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cstring>
#include <string>

#include "autograd/ops.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/flash_attention.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/flash_attention.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/norm.h"
#include "tensor/kernels/parallel.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/softmax.h"

namespace tlm {
namespace {

void set_gflops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
void set_gbps(benchmark::State& state, double bytes_per_iter) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iter * state.iterations() / 1e9,
                                              benchmark::Counter::kIsRate);
}

// ---- matmul: tensor API vs raw sgemm ----
void BM_MatmulTensorAPI(benchmark::State& state) {
  const int64_t n = state.range(0);
  Rng rng(1);
  Tensor a = Tensor::randn({n, n}, rng), b = Tensor::randn({n, n}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).data<float>());
  set_gflops(state, 2.0 * n * n * n);
}

void BM_MatmulTensorAPITransposed(benchmark::State& state) {  // a x b^T, as Linear does
  const int64_t n = state.range(0);
  Rng rng(1);
  Tensor a = Tensor::randn({n, n}, rng), b = Tensor::randn({n, n}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, transpose(b)).data<float>());
  set_gflops(state, 2.0 * n * n * n);
}

void BM_RawSgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  Rng rng(1);
  Tensor a = Tensor::randn({n, n}, rng), b = Tensor::randn({n, n}, rng);
  std::vector<float> c(n * n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n,
                b.data<float>(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_gflops(state, 2.0 * n * n * n);
}

BENCHMARK(BM_MatmulTensorAPI)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MatmulTensorAPITransposed)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RawSgemm)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

// One Linear (in K, out N) on M tokens, forward and backward, row-major as tlm stores them:
// x [M, K], W [N, K], y = x W^T [M, N]; dx = dy W [M, K]; dW = dy^T x [N, K].
void BM_LinearStepGemms(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  Rng rng(1);
  Tensor x = Tensor::randn({M, K}, rng), w = Tensor::randn({N, K}, rng);
  Tensor dy = Tensor::randn({M, N}, rng);
  std::vector<float> y(M * N), dx(M * K), dw(N * K);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x.data<float>(), K,
                w.data<float>(), K, 0.0f, y.data(), N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, dy.data<float>(), N,
                w.data<float>(), K, 0.0f, dx.data(), K);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, dy.data<float>(), N,
                x.data<float>(), K, 0.0f, dw.data(), K);
    benchmark::DoNotOptimize(dw.data());
  }
  set_gflops(state, 3 * 2.0 * M * N * K);
}
// Baby (4 x 128, batch 12 x context 64): c_attn 128 -> 384, c_proj 128 -> 128, c_fc 128 -> 512,
// mlp c_proj 512 -> 128, lm_head 128 -> 65; then width 384 (8 x 256 tokens): c_attn, c_fc.
BENCHMARK(BM_LinearStepGemms)
    ->Args({768, 128, 384})->Args({768, 128, 128})->Args({768, 128, 512})->Args({768, 512, 128})
    ->Args({768, 128, 65})->Args({2048, 384, 1152})->Args({2048, 384, 1536})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- memory bandwidth baselines (same OpenMP, same sizes) ----
constexpr int64_t kN = 16 << 20;  // 16M floats = 64 MB per array

void BM_StreamCopy(benchmark::State& state) {
  std::vector<float> a(kN, 1.0f), c(kN);
  for (auto _ : state) {
    const float* ap = a.data();
    float* cp = c.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < kN; ++i) cp[i] = ap[i];
    benchmark::DoNotOptimize(c.data());
  }
  set_gbps(state, 2.0 * kN * sizeof(float));
}

void BM_StreamTriad(benchmark::State& state) {
  std::vector<float> a(kN, 1.0f), b(kN, 2.0f), c(kN);
  for (auto _ : state) {
    const float* ap = a.data();
    const float* bp = b.data();
    float* cp = c.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < kN; ++i) cp[i] = ap[i] + 3.0f * bp[i];
    benchmark::DoNotOptimize(c.data());
  }
  set_gbps(state, 3.0 * kN * sizeof(float));
}
BENCHMARK(BM_StreamCopy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StreamTriad)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- elementwise ops at 16M elements (fresh output each call, as in training) ----
void BM_Add16M(benchmark::State& state) {
  Rng rng(2);
  Tensor a = Tensor::randn({kN}, rng), b = Tensor::randn({kN}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).data<float>());
  set_gbps(state, 3.0 * kN * sizeof(float));
}
void BM_MulScalar16M(benchmark::State& state) {
  Rng rng(2);
  Tensor a = Tensor::randn({kN}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(mul(a, 0.5).data<float>());
  set_gbps(state, 2.0 * kN * sizeof(float));
}
void BM_Exp16M(benchmark::State& state) {
  Rng rng(2);
  Tensor a = Tensor::randn({kN}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(exp(a).data<float>());
  set_gbps(state, 2.0 * kN * sizeof(float));
}
void BM_Gelu16M(benchmark::State& state) {
  Rng rng(2);
  Tensor a = Tensor::randn({kN}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(gelu(a).data<float>());
  set_gbps(state, 2.0 * kN * sizeof(float));
}
// GELU forward + backward at the MLP's shapes (baby 768 x 512, width 384 2048 x 1536), both
// ways in every iteration: unary + unary_backward (the backward evaluates Phi and phi again)
// against unary_with_derivative + one multiply (what training runs: f'(x) kept from the
// forward). Counters: each way's microseconds per forward + backward, and the speed-up.
void BM_GeluForwardBackward(benchmark::State& state) {
  Rng rng(4);
  const Tensor x = Tensor::randn({state.range(0), state.range(1)}, rng);
  const Tensor g = Tensor::randn({state.range(0), state.range(1)}, rng);
  using Clock = std::chrono::steady_clock;
  double t_twice = 0, t_kept = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    {
      Tensor y = kernels::unary(x, kernels::Unary::Gelu);
      Tensor dx = kernels::unary_backward(g, x, y, kernels::Unary::Gelu);
      benchmark::DoNotOptimize(dx.data<float>());
    }
    const auto t1 = Clock::now();
    {
      Tensor dydx;
      Tensor y = kernels::unary_with_derivative(x, kernels::Unary::Gelu, 0.0, &dydx);
      Tensor dx = kernels::binary(g, dydx, kernels::Binary::Mul);
      benchmark::DoNotOptimize(dx.data<float>());
    }
    const auto t2 = Clock::now();
    t_twice += std::chrono::duration<double>(t1 - t0).count();
    t_kept += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["us_recomputed"] = t_twice / n * 1e6;
  state.counters["us_kept"] = t_kept / n * 1e6;
  state.counters["kept_speedup"] = t_twice / t_kept;
}
BENCHMARK(BM_GeluForwardBackward)->Args({768, 512})->Args({2048, 1536})->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AxpyInPlace16M(benchmark::State& state) {  // the optimizer-style in-place update
  Rng rng(2);
  Tensor a = Tensor::randn({kN}, rng), b = Tensor::randn({kN}, rng);
  for (auto _ : state) {
    kernels::axpy_(a, b, 1e-3);
    benchmark::DoNotOptimize(a.data<float>());
  }
  set_gbps(state, 3.0 * kN * sizeof(float));
}
BENCHMARK(BM_Add16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MulScalar16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Exp16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gelu16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AxpyInPlace16M)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- reductions and softmax ----
void BM_SumAll16M(benchmark::State& state) {
  Rng rng(3);
  Tensor a = Tensor::randn({kN}, rng);
  for (auto _ : state) benchmark::DoNotOptimize(kernels::sum_all(a).data<float>());
  set_gbps(state, 1.0 * kN * sizeof(float));
}
void BM_RowMeanLayerNormStyle(benchmark::State& state) {  // [rows, C] -> mean over C
  const int64_t C = state.range(0), rows = kN / C;
  Rng rng(3);
  Tensor a = Tensor::randn({rows, C}, rng);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(mean(a, -1).data<float>());
  set_gbps(state, 1.0 * kN * sizeof(float));
}
void BM_SoftmaxRows(benchmark::State& state) {  // [rows, n] softmax over n
  const int64_t n = state.range(0), rows = kN / n;
  Rng rng(3);
  Tensor a = Tensor::randn({rows, n}, rng);
  for (auto _ : state) benchmark::DoNotOptimize(kernels::softmax(a, -1).data<float>());
  set_gbps(state, 2.0 * kN * sizeof(float));
}
// The fused LayerNorm kernels at the transformer shapes: forward, and backward with dx, dgamma
// and dbeta (rows x d; baby 768 x 128, width 384 2048 x 384). GB/s counts the bytes each must
// move: forward reads x and writes y; backward reads x and the gradient and writes dx.
void BM_LayerNorm(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  const bool backward = state.range(2) != 0;
  Rng rng(3);
  Tensor x = Tensor::randn({rows, d}, rng), g = Tensor::randn({rows, d}, rng);
  Tensor gamma = Tensor::randn({d}, rng), beta = Tensor::randn({d}, rng);
  Tensor mean, rstd;
  kernels::layer_norm(x, gamma, beta, 1e-5, &mean, &rstd);
  for (auto _ : state) {
    if (backward) {
      Tensor dx, dgamma, dbeta;
      kernels::layer_norm_backward(g, x, gamma, mean, rstd, &dx, &dgamma, &dbeta);
      benchmark::DoNotOptimize(dx.data<float>());
    } else {
      benchmark::DoNotOptimize(kernels::layer_norm(x, gamma, beta, 1e-5, &mean, &rstd).data<float>());
    }
  }
  set_gbps(state, (backward ? 3.0 : 2.0) * rows * d * sizeof(float));
}
BENCHMARK(BM_LayerNorm)
    ->ArgNames({"rows", "d", "backward"})
    ->Args({768, 128, 0})->Args({768, 128, 1})->Args({2048, 384, 0})->Args({2048, 384, 1})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
// A bias gradient: the sum of a [tokens, C] gradient over its rows (baby c_attn and c_fc, and
// width 384's c_fc), as in training: the gradient is freshly written by an elementwise kernel
// (each thread its half of the rows) before every sum, and only the sum is timed. GB/s: the
// gradient read once.
void BM_SumRows(benchmark::State& state) {
  const int64_t rows = state.range(0), C = state.range(1);
  Rng rng(3);
  const Tensor a = Tensor::randn({rows, C}, rng);
  using Clock = std::chrono::steady_clock;
  double t = 0;
  for (auto _ : state) {
    const Tensor fresh = kernels::unary(a, kernels::Unary::MulScalar, 1.0);
    const auto t0 = Clock::now();
    benchmark::DoNotOptimize(kernels::sum_axis(fresh, 0, false).data<float>());
    t += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  state.counters["us_sum"] = t / static_cast<double>(state.iterations()) * 1e6;
  state.counters["GB/s"] = static_cast<double>(rows * C * sizeof(float)) * static_cast<double>(state.iterations()) / t / 1e9;
}
BENCHMARK(BM_SumRows)->Args({768, 384})->Args({768, 512})->Args({2048, 1536})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SumAll16M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RowMeanLayerNormStyle)->Arg(128)->Arg(768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SoftmaxRows)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// One tile of the tiled attention at the baby shape: S = Q K^T, [64, 32] x [64, 32]^T, on one
// thread (each thread of flash_attention runs its own tiles through single-threaded sgemm).
void BM_AttentionTileSgemm1Thread(benchmark::State& state) {
  const int64_t T = 64, D = 32;
  Rng rng(5);
  Tensor q = Tensor::randn({T, D}, rng), k = Tensor::randn({T, D}, rng);
  std::vector<float> s(T * T);
  const int threads = kernels::num_threads();
  kernels::set_num_threads(1);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, q.data<float>(), D,
                k.data<float>(), D, 0.0f, s.data(), T);
    benchmark::DoNotOptimize(s.data());
  }
  kernels::set_num_threads(threads);
  set_gflops(state, 2.0 * T * T * D);
}
BENCHMARK(BM_AttentionTileSgemm1Thread)->Unit(benchmark::kMicrosecond)->UseRealTime();

// C = A B^T with beta = 0, both ways in turn in every iteration (so drift on a shared
// machine hits both alike): cblas_sgemm(beta = 0), and kernels::blas_gemm (memset C, then
// beta = 1; on 2 threads it also splits the product over them, see BM_GemmSplit, so the
// 1-thread row is the one that isolates the memset). Counters: each way's GFLOP/s and memset_speedup = beta0 time / memset time.
void BM_GemmBetaZero(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  const int threads = kernels::num_threads();
  kernels::set_num_threads(static_cast<int>(state.range(3)));
  Rng rng(6);
  Tensor a = Tensor::randn({M, K}, rng), b = Tensor::randn({N, K}, rng);
  std::vector<float> c(M * N);
  using Clock = std::chrono::steady_clock;
  double t_beta0 = 0, t_memset = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a.data<float>(), K,
                b.data<float>(), K, 0.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
    const auto t1 = Clock::now();
    kernels::blas_gemm<float>(false, true, M, N, K, 1.0f, a.data<float>(), K, b.data<float>(), K,
                              0.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
    const auto t2 = Clock::now();
    t_beta0 += std::chrono::duration<double>(t1 - t0).count();
    t_memset += std::chrono::duration<double>(t2 - t1).count();
  }
  kernels::set_num_threads(threads);
  const double flops = 2.0 * M * N * K * static_cast<double>(state.iterations());
  state.counters["GFLOP/s_beta0"] = flops / t_beta0 / 1e9;
  state.counters["GFLOP/s_memset"] = flops / t_memset / 1e9;
  state.counters["memset_speedup"] = t_beta0 / t_memset;
}
BENCHMARK(BM_GemmBetaZero)
    ->ArgNames({"M", "K", "N", "threads"})
    ->Args({768, 128, 384, 2})->Args({768, 128, 128, 2})->Args({64, 32, 64, 1})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

// Two GEMM functions (blas_gemm's signature) raced on a Linear's three products y = x W^T,
// dx = dy W, dW = dy^T x (M tokens, K in, N out, state.range(0..2)), both in every iteration
// so drift on a shared machine hits both alike. Counters: "GFLOP/s_<a>", "GFLOP/s_<b>" and
// "<b>_speedup" = a's time / b's time.
template <class GemmA, class GemmB>
void race_linear_gemms(benchmark::State& state, GemmA gemm_a, const char* a, GemmB gemm_b,
                       const char* b) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  Rng rng(7);
  Tensor x = Tensor::randn({M, K}, rng), w = Tensor::randn({N, K}, rng), dy = Tensor::randn({M, N}, rng);
  std::vector<float> y(M * N), dx(M * K), dw(N * K);
  auto three = [&](auto gemm) {
    gemm(false, true, M, N, K, 1.0f, x.data<float>(), K, w.data<float>(), K, 0.0f, y.data(), N);
    gemm(false, false, M, K, N, 1.0f, dy.data<float>(), N, w.data<float>(), K, 0.0f, dx.data(), K);
    gemm(true, false, N, K, M, 1.0f, dy.data<float>(), N, x.data<float>(), K, 0.0f, dw.data(), K);
    benchmark::DoNotOptimize(dw.data());
  };
  using Clock = std::chrono::steady_clock;
  double t_a = 0, t_b = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    three(gemm_a);
    const auto t1 = Clock::now();
    three(gemm_b);
    const auto t2 = Clock::now();
    t_a += std::chrono::duration<double>(t1 - t0).count();
    t_b += std::chrono::duration<double>(t2 - t1).count();
  }
  const double flops = 3 * 2.0 * M * N * K * static_cast<double>(state.iterations());
  state.counters[std::string("GFLOP/s_") + a] = flops / t_a / 1e9;
  state.counters[std::string("GFLOP/s_") + b] = flops / t_b / 1e9;
  state.counters[std::string(b) + "_speedup"] = t_a / t_b;
}

// kernels::blas_gemm, which cuts a product into one block of C per thread, each a
// single-threaded sgemm, against one cblas_sgemm threaded by OpenBLAS (beta = 0 done the same
// way, memset + accumulate, on both sides), on the threads of the run (OMP_NUM_THREADS).
void BM_GemmSplit(benchmark::State& state) {
  auto openblas_threaded = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                              const float* a, int64_t lda, const float* b, int64_t ldb, float,
                              float* c, int64_t ldc) {
    std::memset(c, 0, sizeof(float) * static_cast<size_t>(m * ldc));
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                n, k, alpha, a, lda, b, ldb, 1.0f, c, ldc);
  };
  auto split = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    kernels::blas_gemm<float>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  race_linear_gemms(state, openblas_threaded, "openblas", split, "split");
}
// Baby c_attn, c_fc and mlp c_proj (768 tokens); width-384 c_attn, c_fc and mlp c_proj (2048).
BENCHMARK(BM_GemmSplit)
    ->ArgNames({"M", "K", "N"})
    ->Args({768, 128, 384})->Args({768, 128, 512})->Args({768, 512, 128})
    ->Args({2048, 384, 1152})->Args({2048, 384, 1536})->Args({2048, 1536, 384})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

// The bf16 product (AVX-512 BF16 dot products, packing included) against sgemm on the same
// shapes. Skipped on CPUs without AVX-512 BF16.
void BM_GemmBf16(benchmark::State& state) {
  if (!kernels::bf16_gemm_supported()) {
    state.SkipWithError("no AVX-512 BF16 on this CPU");
    return;
  }
  auto sgemm = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    kernels::blas_gemm<float>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  race_linear_gemms(state, sgemm, "sgemm", kernels::bf16_gemm, "bf16");
}
// Baby c_attn and c_fc (768 tokens), width-384 c_attn, c_fc and mlp c_proj (2048 tokens), square.
BENCHMARK(BM_GemmBf16)
    ->ArgNames({"M", "K", "N"})
    ->Args({768, 128, 384})->Args({768, 128, 512})->Args({2048, 384, 1152})
    ->Args({2048, 384, 1536})->Args({2048, 1536, 384})->Args({1024, 1024, 1024})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- causal attention, forward + backward: fused (tiled) vs composed ----
void attention_bench(benchmark::State& state, bool fused) {
  const int64_t B = state.range(0), H = state.range(1), T = state.range(2), D = state.range(3);
  Rng rng(1);
  // [B,H,T,D] views of [B,T,H,D] buffers, as attention makes them.
  auto heads = [&] { return permute(Tensor::randn({B, T, H, D}, rng), {0, 2, 1, 3}).set_requires_grad(true); };
  Tensor q = heads(), k = heads(), v = heads();
  const std::vector<double> c(static_cast<size_t>(T), 1.0 / std::sqrt(static_cast<double>(D)));
  for (auto _ : state) {
    Tensor y = fused ? flash_attention(q, k, v, c)
                     : matmul(causal_softmax(matmul(q, transpose(k, -2, -1)), c[0]), v);
    sum(y).backward();
    q.zero_grad();
    k.zero_grad();
    v.zero_grad();
  }
  set_gflops(state, 12.0 * B * H * T * T * D);
}
// The tiled attention kernels alone, no autograd and no copies around them: forward keeping
// P (as training runs it when all keys fit one tile) and backward, timed apart. Counters:
// fwd_us and bwd_us per call.
void BM_FlashKernels(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1), T = state.range(2), D = state.range(3);
  Rng rng(3);
  auto heads = [&] { return permute(Tensor::randn({B, T, H, D}, rng), {0, 2, 1, 3}); };
  const Tensor q = heads(), k = heads(), v = heads(), g = heads();
  const std::vector<double> c(static_cast<size_t>(T), 1.0 / std::sqrt(static_cast<double>(D)));
  using Clock = std::chrono::steady_clock;
  double t_fwd = 0, t_bwd = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    kernels::FlashAttentionResult r = kernels::flash_attention(q, k, v, c, 0, 0, /*keep_probs=*/true);
    const auto t1 = Clock::now();
    kernels::FlashAttentionGrads d =
        kernels::flash_attention_backward(g, q, k, v, r.out, r.lse, c, 0, 0, r.probs);
    const auto t2 = Clock::now();
    benchmark::DoNotOptimize(d.dq.data<float>());
    t_fwd += std::chrono::duration<double>(t1 - t0).count();
    t_bwd += std::chrono::duration<double>(t2 - t1).count();
  }
  state.counters["fwd_us"] = t_fwd / static_cast<double>(state.iterations()) * 1e6;
  state.counters["bwd_us"] = t_bwd / static_cast<double>(state.iterations()) * 1e6;
}
BENCHMARK(BM_FlashKernels)->Args({12, 4, 64, 32})->Args({8, 6, 256, 64})->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AttentionFused(benchmark::State& state) { attention_bench(state, true); }
void BM_AttentionComposed(benchmark::State& state) { attention_bench(state, false); }
BENCHMARK(BM_AttentionFused)->Args({12, 4, 64, 32})->Args({8, 6, 256, 64})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AttentionComposed)->Args({12, 4, 64, 32})->Args({8, 6, 256, 64})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tlm

BENCHMARK_MAIN();
