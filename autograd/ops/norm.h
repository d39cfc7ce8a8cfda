// Fused LayerNorm and RMSNorm over the last axis, differentiable.
//
//   Tensor y = layer_norm(x, gamma, beta, 1e-5);    // x [B,T,C], gamma/beta [C]
//   Tensor z = rms_norm(x, Tensor(), 1e-6);          // RoFormerV2: no gain, no bias
//
// One kernel each way instead of the ~8 core ops of the composition; the forward saves the
// per-row mean and rstd (llm.c style) so the backward does not recompute them.
#pragma once

#include "tensor/tensor.h"

namespace tlm {

// LayerNorm (Ba et al., arXiv:1607.06450). gamma/beta [C] or undefined (absent).
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps = 1e-5);
// RMSNorm (Zhang & Sennrich, arXiv:1910.07467). gamma [C] or undefined (parameter-free).
Tensor rms_norm(const Tensor& x, const Tensor& gamma, double eps = 1e-6);

}  // namespace tlm
