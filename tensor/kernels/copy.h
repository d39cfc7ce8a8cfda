// Strided copy with dtype conversion: the kernel behind contiguous(), clone(), to() and
// copy_from(). dst and src have the same shape; either may be any strided view.
// Conversions to fp16/bf16 round to nearest even (tensor/half.h); from float64 they go through
// float32 first. Contiguous float32 <-> fp16/bf16 uses the array conversions (F16C / AVX-512
// BF16 when the CPU has them) in OpenMP chunks; everything else the portable scalar code.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

void strided_copy(Tensor& dst, const Tensor& src);
void fill(Tensor& dst, double value);

// Contiguous arrays, `format` = DType::F16 or DType::BF16; parallel over chunks for large n.
void floats_to_half(const float* src, uint16_t* dst, int64_t n, DType format);
void half_to_floats(const uint16_t* src, float* dst, int64_t n, DType format);
// x <- float(format(x)) in place: what storing x in the 16-bit format and reading it back gives.
void round_floats_(float* x, int64_t n, DType format);

}  // namespace tlm::kernels
