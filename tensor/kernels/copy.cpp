#include "tensor/kernels/copy.h"

#include "tensor/profile.h"

#include <cstring>

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

template <class D, class S>
void copy_typed(D* dst, const Strides& ds, const S* src, const Strides& ss, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (shape.empty()) {
    dst[0] = static_cast<D>(src[0]);
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
      for (int64_t i = 0; i < inner; ++i) d[i] = static_cast<D>(s[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) d[i * dsi] = static_cast<D>(s[i * ssi]);
    }
  }
}

template <class D>
void copy_from_any(D* dst, const Strides& ds, const Tensor& src) {
  switch (src.dtype()) {
    case DType::F32: copy_typed(dst, ds, src.data<float>(), src.strides(), src.shape()); break;
    case DType::F64: copy_typed(dst, ds, src.data<double>(), src.strides(), src.shape()); break;
    case DType::I32: copy_typed(dst, ds, src.data<int32_t>(), src.strides(), src.shape()); break;
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
  switch (dst.dtype()) {
    case DType::F32: copy_from_any(dst.data<float>(), dst.strides(), src); break;
    case DType::F64: copy_from_any(dst.data<double>(), dst.strides(), src); break;
    case DType::I32: copy_from_any(dst.data<int32_t>(), dst.strides(), src); break;
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
  }
}

}  // namespace tlm::kernels
