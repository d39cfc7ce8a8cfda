#include "tensor/kernels/copy.h"

#include "tensor/profile.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

// One element from S to D; the 16-bit formats convert through float32.
template <class D, class S>
inline D convert_value(S s) {
  if constexpr (std::is_same_v<D, S>) return s;
  else if constexpr (std::is_same_v<S, Fp16>) return convert_value<D>(fp16_to_float(s.bits));
  else if constexpr (std::is_same_v<S, Bf16>) return convert_value<D>(bf16_to_float(s.bits));
  else if constexpr (std::is_same_v<D, Fp16>) return Fp16{float_to_fp16(static_cast<float>(s))};
  else if constexpr (std::is_same_v<D, Bf16>) return Bf16{float_to_bf16(static_cast<float>(s))};
  else return static_cast<D>(s);
}

constexpr int64_t kHalfChunk = 16384;  // elements per conversion task

uint16_t* bits16(Tensor& t) {
  return t.dtype() == DType::F16 ? &t.data<Fp16>()->bits : &t.data<Bf16>()->bits;
}
const uint16_t* bits16(const Tensor& t) {
  return t.dtype() == DType::F16 ? &t.data<Fp16>()->bits : &t.data<Bf16>()->bits;
}

template <class D, class S>
void copy_typed(D* dst, const Strides& ds, const S* src, const Strides& ss, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (shape.empty()) {
    dst[0] = convert_value<D>(src[0]);
    return;
  }
  const int64_t inner = shape.back();
  const int64_t rows = n / inner;
  const int64_t dsi = ds.back(), ssi = ss.back();
  const Strides* strides[2] = {&ds, &ss};
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off[2];
    row_offsets(r, shape, strides, 2, off);
    D* d = dst + off[0];
    const S* s = src + off[1];
    if (dsi == 1 && ssi == 1) {
      for (int64_t i = 0; i < inner; ++i) d[i] = convert_value<D>(s[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) d[i * dsi] = convert_value<D>(s[i * ssi]);
    }
  }
}

template <class D>
void copy_from_any(D* dst, const Strides& ds, const Tensor& src) {
  switch (src.dtype()) {
    case DType::F32: copy_typed(dst, ds, src.data<float>(), src.strides(), src.shape()); break;
    case DType::F64: copy_typed(dst, ds, src.data<double>(), src.strides(), src.shape()); break;
    case DType::I32: copy_typed(dst, ds, src.data<int32_t>(), src.strides(), src.shape()); break;
    case DType::F16: copy_typed(dst, ds, src.data<Fp16>(), src.strides(), src.shape()); break;
    case DType::BF16: copy_typed(dst, ds, src.data<Bf16>(), src.strides(), src.shape()); break;
  }
}

}  // namespace

void strided_copy(Tensor& dst, const Tensor& src) {
  TLM_PROFILE(Copy);
  TLM_CHECK(dst.shape() == src.shape(), "copy: destination {} and source {} differ in shape",
            shape_str(dst.shape()), shape_str(src.shape()));
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    std::memcpy(static_cast<char*>(dst.impl()->storage->data()) + dst.offset() * dtype_size(dst.dtype()),
                static_cast<const char*>(src.impl()->storage->data()) + src.offset() * dtype_size(src.dtype()),
                static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
    return;
  }
  if (dst.is_contiguous() && src.is_contiguous()) {  // the vectorised float32 <-> 16-bit paths
    if (src.dtype() == DType::F32 && is_half(dst.dtype()))
      return floats_to_half(src.data<float>(), bits16(dst), src.numel(), dst.dtype());
    if (is_half(src.dtype()) && dst.dtype() == DType::F32)
      return half_to_floats(bits16(src), dst.data<float>(), src.numel(), src.dtype());
  }
  switch (dst.dtype()) {
    case DType::F32: copy_from_any(dst.data<float>(), dst.strides(), src); break;
    case DType::F64: copy_from_any(dst.data<double>(), dst.strides(), src); break;
    case DType::I32: copy_from_any(dst.data<int32_t>(), dst.strides(), src); break;
    case DType::F16: copy_from_any(dst.data<Fp16>(), dst.strides(), src); break;
    case DType::BF16: copy_from_any(dst.data<Bf16>(), dst.strides(), src); break;
  }
}

void fill(Tensor& dst, double value) {
  TLM_PROFILE(Copy);
  TLM_CHECK(dst.is_contiguous(), "fill: expected a contiguous tensor, got {}", dst.str());
  const int64_t n = dst.numel();
  auto run = [&](auto* p, auto v) {
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  };
  switch (dst.dtype()) {
    case DType::F32: run(dst.data<float>(), static_cast<float>(value)); break;
    case DType::F64: run(dst.data<double>(), value); break;
    case DType::I32: run(dst.data<int32_t>(), static_cast<int32_t>(value)); break;
    case DType::F16: run(dst.data<Fp16>(), convert_value<Fp16>(value)); break;
    case DType::BF16: run(dst.data<Bf16>(), convert_value<Bf16>(value)); break;
  }
}

void floats_to_half(const float* src, uint16_t* dst, int64_t n, DType format) {
  TLM_CHECK(is_half(format), "floats_to_half: format must be float16 or bfloat16, got {}",
            dtype_name(format));
  const int64_t chunks = (n + kHalfChunk - 1) / kHalfChunk;
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * kHalfChunk, len = std::min(kHalfChunk, n - i);
    if (format == DType::F16) tlm::floats_to_fp16(src + i, dst + i, len);
    else tlm::floats_to_bf16(src + i, dst + i, len);
  }
}

void half_to_floats(const uint16_t* src, float* dst, int64_t n, DType format) {
  TLM_CHECK(is_half(format), "half_to_floats: format must be float16 or bfloat16, got {}",
            dtype_name(format));
  const int64_t chunks = (n + kHalfChunk - 1) / kHalfChunk;
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * kHalfChunk, len = std::min(kHalfChunk, n - i);
    if (format == DType::F16) tlm::fp16_to_floats(src + i, dst + i, len);
    else tlm::bf16_to_floats(src + i, dst + i, len);
  }
}

void round_floats_(float* x, int64_t n, DType format) {
  TLM_CHECK(is_half(format), "round_floats_: format must be float16 or bfloat16, got {}",
            dtype_name(format));
  const int64_t chunks = (n + kHalfChunk - 1) / kHalfChunk;
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * kHalfChunk, len = std::min(kHalfChunk, n - i);
    if (format == DType::F16) tlm::round_to_fp16_(x + i, len);
    else tlm::round_to_bf16_(x + i, len);
  }
}

}  // namespace tlm::kernels
