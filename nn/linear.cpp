#include "nn/linear.h"

#include "autograd/ops/linear.h"
#include "autograd/precision.h"

namespace tlm::nn {

Tensor affine(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (current_precision() == Precision::F32 || x.dtype() != DType::F32)
    return linear(x, weight, bias);  // one op: the bias goes into the GEMM's output
  // Under bf16/fp16 the matmul op rounds its inputs (autograd/precision.h).
  Tensor y = matmul(x.dim() == 1 ? unsqueeze(x, 0) : x, transpose(weight, 0, 1));
  if (x.dim() == 1) y = squeeze(y, 0);
  return bias.defined() ? add(y, bias) : y;
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Rng& rng,
               double init_std)
    : in_(in_features), out_(out_features) {
  TLM_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got in {} "
            "out {}", in_features, out_features);
  register_parameter("weight", weight, Tensor::randn({out_, in_}, rng, init_std));
  register_parameter("bias", bias, with_bias ? Tensor::zeros({out_}) : Tensor());
}

Tensor Linear::forward(const Tensor& x) const {
  TLM_CHECK(x.dim() >= 1 && x.shape().back() == in_, "Linear: {} x weight {}: the last axis of "
            "the input must be {}", shape_str(x.shape()), shape_str(weight.shape()), in_);
  Tensor y = affine(x, weight, bias);
  return lora ? add(y, lora->forward(x)) : y;
}

void Linear::attach_lora(const LoRAOptions& options, Rng& rng) {
  TLM_CHECK(!lora, "Linear: a LoRA adapter is already attached");
  lora = std::make_unique<LoRA>(in_, out_, options, rng);
  register_module("lora", *lora);
}

}  // namespace tlm::nn
