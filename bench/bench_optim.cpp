// Micro-benchmarks of the optimizer step (GB/s of parameter + gradient + state traffic):
//   - the fused kernels (kernels::adamw_step_, lion_step_, sgd_step_) through Optimizer::step;
//   - AdamW composed from the existing in-place kernels (binary_, axpy_, unary), the unfused
//     baseline that justifies the fused kernel, on the same tensors in the same run.
// AdamW touches 7 floats per element (reads p, g, m, v; writes p, m, v), Lion 5, SGD-momentum 5.
// Run: ./build/bench_optim   (configure with -DTLM_BUILD_BENCH=ON)
#include <benchmark/benchmark.h>

#include <cmath>

#include "optim/adamw.h"
#include "optim/lion.h"
#include "optim/sgd.h"
#include "tensor/kernels/elementwise.h"

namespace tlm {
namespace {

void set_gbps(benchmark::State& state, double bytes_per_iter) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iter * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

Tensor param_with_grad(int64_t n) {
  Rng rng(1);
  Tensor p = Tensor::randn({n}, rng).set_requires_grad(true);
  p.set_grad(Tensor::randn({n}, rng, 1e-2));
  return p;
}

template <class Opt, class... Args>
void run_optimizer(benchmark::State& state, double floats_per_elem, Args... args) {
  const int64_t n = state.range(0);
  Tensor p = param_with_grad(n);
  Opt opt({{{{"p", p}}, 0.1, 1.0}}, args...);
  for (auto _ : state) {
    opt.step();
    benchmark::DoNotOptimize(p.data<float>());
  }
  set_gbps(state, floats_per_elem * 4.0 * n);
}

void BM_AdamWFused(benchmark::State& s) {
  run_optimizer<optim::AdamW>(s, 7, 1e-4, 0.9, 0.99, 1e-8);
}
void BM_LionFused(benchmark::State& s) { run_optimizer<optim::Lion>(s, 5, 1e-5, 0.9, 0.99); }
void BM_SgdMomentumFused(benchmark::State& s) { run_optimizer<optim::Sgd>(s, 5, 1e-3, 0.9, false); }

// The same AdamW step from general in-place kernels: ~9 passes and three temporaries.
void BM_AdamWUnfused(benchmark::State& state) {
  using kernels::Binary;
  using kernels::Unary;
  const int64_t n = state.range(0);
  Tensor p = param_with_grad(n);
  Tensor g = p.grad();
  Tensor m = Tensor::zeros({n}), v = Tensor::zeros({n});
  const double lr = 1e-4, wd = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8;
  int64_t t = 0;
  for (auto _ : state) {
    ++t;
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    kernels::binary_(p, Tensor::scalar(1 - lr * wd), Binary::Mul);
    kernels::binary_(m, Tensor::scalar(b1), Binary::Mul);
    kernels::axpy_(m, g, 1 - b1);
    kernels::binary_(v, Tensor::scalar(b2), Binary::Mul);
    kernels::axpy_(v, kernels::unary(g, Unary::Square), 1 - b2);
    Tensor denom =
        kernels::unary(kernels::unary(v, Unary::Sqrt), Unary::MulScalar, 1 / std::sqrt(bc2));
    kernels::binary_(denom, Tensor::scalar(eps), Binary::Add);
    kernels::axpy_(p, kernels::binary(m, denom, Binary::Div), -lr / bc1);
    benchmark::DoNotOptimize(p.data<float>());
  }
  set_gbps(state, 7 * 4.0 * n);  // the useful traffic, as for the fused kernel
}

BENCHMARK(BM_AdamWFused)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWUnfused)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LionFused)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SgdMomentumFused)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tlm

BENCHMARK_MAIN();
