// Precision policy scope and the rounding it applies (docs/methods.md, "bf16 and fp16").
#include "autograd/precision.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/half.h"
#include "tensor/kernels/copy.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/parallel.h"

namespace tlm {

namespace {
thread_local PrecisionGuard* t_guard = nullptr;
constexpr int64_t kChunk = 4096;  // elements per counting task
}  // namespace

Precision parse_precision(std::string_view name, std::string_view key) {
  if (name == "fp32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") return Precision::F16;
  TLM_FAIL("{} = {}: unknown precision (allowed: fp32, bf16, fp16)", key, name);
}

std::string_view precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::F16: return "fp16";
  }
  return "?";
}

DType precision_dtype(Precision p) {
  switch (p) {
    case Precision::F32: return DType::F32;
    case Precision::BF16: return DType::BF16;
    case Precision::F16: return DType::F16;
  }
  return DType::F32;
}

std::string_view precision_kernel(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return kernels::bf16_gemm_supported() ? "avx512_bf16" : "emulated";
    case Precision::F16: return "emulated";
  }
  return "?";
}

std::string precision_description(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32 (sgemm)";
    case Precision::BF16:
      return kernels::bf16_gemm_supported()
                 ? "bf16 on AVX-512 BF16 dot products (tlm's kernel), fp32 accumulation"
                 : "bf16 emulated (this CPU has no AVX-512 BF16): sgemm on bf16-rounded inputs, "
                   "the same values as the bf16 kernel up to the order of fp32 sums, no speed-up";
    case Precision::F16:
      return "fp16 emulated: sgemm on fp16-rounded inputs (no fp16 matmul kernel in tlm)";
  }
  return "?";
}

PrecisionGuard::PrecisionGuard(Precision p) : precision_(p), prev_(t_guard) { t_guard = this; }
PrecisionGuard::~PrecisionGuard() { t_guard = prev_; }

Precision current_precision() { return t_guard ? t_guard->precision() : Precision::F32; }
PrecisionGuard* current_precision_guard() { return t_guard; }

Tensor PrecisionGuard::store(const Tensor& x) {
  TLM_CHECK(x.dtype() == DType::F32 && precision_ != Precision::F32,
            "precision: only float32 tensors are stored in 16-bit under bf16/fp16, got {} under {}",
            x.str(), precision_name(precision_));
  const auto& storage = x.impl()->storage;
  Key key{storage.get(), x.offset(), x.shape(), x.strides(), x.version()};
  auto it = stored_.find(key);
  if (it != stored_.end()) {
    // The same storage object (not a new one at a recycled address) and a live copy.
    auto src = it->second.source.lock();
    if (src == storage) {
      if (auto copy = it->second.copy.lock()) return Tensor(copy);
    }
  }
  // Entries whose source or copy died are dead weight: drop them now and then.
  if (stored_.size() > 4096) {
    for (auto e = stored_.begin(); e != stored_.end();)
      e = e->second.copy.expired() || e->second.source.expired() ? stored_.erase(e) : std::next(e);
  }
  Tensor copy = x.to(precision_dtype(precision_));
  stored_[key] = Stored{storage, copy.impl()};
  return copy;
}

namespace autograd {
namespace {

// Rounds the float32 contiguous array in place and counts what happened.
void round_and_count(float* x, int64_t n, DType fmt, bool is_grad, PrecisionStats* stats) {
  if (!stats) return kernels::round_floats_(x, n, fmt);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  int64_t nonzero = 0, underflow = 0, overflow = 0;
#pragma omp parallel for if (n >= kernels::kParallelGrain) schedule(static) \
    reduction(+ : nonzero, underflow, overflow)
  for (int64_t c = 0; c < chunks; ++c) {
    float* p = x + c * kChunk;
    const int64_t len = std::min(kChunk, n - c * kChunk);
    float before[kChunk];
    std::copy(p, p + len, before);
    if (fmt == DType::F16) round_to_fp16_(p, len);
    else round_to_bf16_(p, len);
    for (int64_t i = 0; i < len; ++i) {
      nonzero += before[i] != 0.0f;
      underflow += before[i] != 0.0f && p[i] == 0.0f;
      overflow += std::isfinite(before[i]) && std::isinf(p[i]);
    }
  }
  stats->overflow += overflow;
  if (is_grad) {
    stats->grad_values += n;
    stats->grad_nonzero += nonzero;
    stats->grad_underflow += underflow;
  }
}

Tensor round_impl(const Tensor& x, Precision p, bool is_grad) {
  if (p == Precision::F32 || !x.defined() || x.dtype() != DType::F32) return x;
  Tensor r = x.clone();  // fresh and contiguous
  PrecisionGuard* guard = current_precision_guard();
  round_and_count(r.data<float>(), r.numel(), precision_dtype(p), is_grad,
                  guard ? &guard->stats() : nullptr);
  return r;
}

// The first element of a dense block (see is_dense_block).
const float* block_start(const Tensor& x) {
  const float* p = x.data<float>();
  for (int64_t d = 0; d < x.dim(); ++d)
    if (x.strides()[d] < 0) p += x.strides()[d] * (x.shape()[d] - 1);
  return p;
}

}  // namespace

Tensor round_to_precision(const Tensor& x, Precision p) { return round_impl(x, p, false); }
Tensor round_grad_to_precision(const Tensor& g, Precision p) { return round_impl(g, p, true); }

Tensor round_fresh_grad_to_precision(Tensor g, Precision p) {
  if (p == Precision::F32 || !g.defined() || g.dtype() != DType::F32) return g;
  if (!is_dense_block(g)) return round_impl(g, p, true);
  PrecisionGuard* guard = current_precision_guard();
  round_and_count(const_cast<float*>(block_start(g)), g.numel(), precision_dtype(p), true,
                  guard ? &guard->stats() : nullptr);
  g.bump_version();
  return g;
}

bool is_dense_block(const Tensor& x) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, size) of the axes longer than 1
  for (int64_t d = 0; d < x.dim(); ++d)
    if (x.shape()[d] > 1) dims.emplace_back(std::abs(x.strides()[d]), x.shape()[d]);
  std::sort(dims.begin(), dims.end());
  int64_t expect = 1;
  for (const auto& [stride, size] : dims) {
    if (stride != expect) return false;
    expect *= size;
  }
  return true;
}

void count_bf16_rounding(const Tensor& x, bool is_grad) {
  TLM_CHECK(x.dtype() == DType::F32 && is_dense_block(x), "count_bf16_rounding: {} is not one "
            "dense float32 block", x.str());
  PrecisionGuard* guard = current_precision_guard();
  if (!guard) return;
  const float* p = block_start(x);
  const int64_t n = x.numel();
  // Only the extremes can round to 0 or to inf (bf16 has float32's exponent range): one
  // vectorised pass counts the non-zeros and the extremes, a second pass rounds only when
  // there are extremes.
  int64_t nonzero = 0, extremes = 0, underflow = 0, overflow = 0;
#pragma omp parallel for simd if (n >= kernels::kParallelGrain) schedule(static) \
    reduction(+ : nonzero, extremes)
  for (int64_t i = 0; i < n; ++i) {
    const float v = p[i], mag = std::fabs(v);
    nonzero += v != 0.0f;
    extremes += (v != 0.0f && mag < 1e-37f) || mag > 3e38f;
  }
  if (extremes > 0) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = p[i], r = bf16_to_float(float_to_bf16(v));
      underflow += v != 0.0f && r == 0.0f;
      overflow += std::isfinite(v) && std::isinf(r);
    }
  }
  PrecisionStats& stats = guard->stats();
  stats.overflow += overflow;
  if (is_grad) {
    stats.grad_values += n;
    stats.grad_nonzero += nonzero;
    stats.grad_underflow += underflow;
  }
}

}  // namespace autograd
}  // namespace tlm
