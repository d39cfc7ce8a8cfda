// Strided copy with dtype conversion: the kernel behind contiguous(), clone(), to() and
// copy_from(). dst and src have the same shape; either may be any strided view.
#pragma once

#include "tensor/tensor.h"

namespace tlm::kernels {

void strided_copy(Tensor& dst, const Tensor& src);
void fill(Tensor& dst, double value);

}  // namespace tlm::kernels
