// Linear: y = x W^T + b, with W [out, in] in PyTorch's layout (checkpoints map one to one).
//
//   nn::Linear fc(/*in=*/C, /*out=*/4 * C, /*bias=*/true, rng);   // W ~ N(0, 0.02^2), b = 0
//   Tensor h = fc.forward(x);                                       // [B,T,C] -> [B,T,4C]
//
// W^T is a transposed view handed to BLAS as a flag: no copy, forward or backward.
#pragma once

#include <memory>

#include "nn/lora.h"
#include "nn/module.h"

namespace tlm::nn {

// x W^T + b (bias may be undefined): one fused op (autograd/ops/linear.h) in fp32, matmul + add
// under a bf16/fp16 precision scope (where matmul rounds its inputs).
Tensor affine(const Tensor& x, const Tensor& weight, const Tensor& bias);

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, Rng& rng, double init_std = 0.02);
  // x [..., in] -> [..., out]
  Tensor forward(const Tensor& x) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // Adds a LoRA adapter (nn/lora.h): forward() then returns x W^T + b + lora->forward(x).
  // Registered as the child "lora" (parameters lora.A, lora.B); one adapter per Linear.
  void attach_lora(const LoRAOptions& options, Rng& rng);

  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined when constructed with bias = false
  std::unique_ptr<LoRA> lora;  // A [r, in], B [out, r]; null unless attach_lora was called

 private:
  int64_t in_, out_;
};

}  // namespace tlm::nn
