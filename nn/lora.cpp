#include "nn/lora.h"

#include <cmath>

#include "nn/gpt.h"

namespace tlm::nn {

void LoRAOptions::validate() const {
  TLM_CHECK(rank >= 1, "lora_rank: must be >= 1, got {}", rank);
  TLM_CHECK(std::isfinite(alpha) && alpha > 0, "lora_alpha: must be > 0, got {}", alpha);
}

namespace {
const LoRAOptions& validated(const LoRAOptions& o) {
  o.validate();
  return o;
}
}  // namespace

LoRA::LoRA(int64_t in_features, int64_t out_features, const LoRAOptions& options, Rng& rng)
    : scale_(validated(options).alpha / static_cast<double>(options.rank)) {
  TLM_CHECK(in_features > 0 && out_features > 0, "LoRA: sizes must be positive, got in {} out {}",
            in_features, out_features);
  register_parameter("A", A, Tensor::randn({options.rank, in_features}, rng,
                                           1.0 / std::sqrt(static_cast<double>(in_features))));
  register_parameter("B", B, Tensor::zeros({out_features, options.rank}));
}

Tensor LoRA::forward(const Tensor& x) const {
  return forward_rows(x, 0, B.shape()[0]);
}

Tensor LoRA::forward_rows(const Tensor& x, int64_t row0, int64_t rows) const {
  TLM_CHECK(x.dim() >= 1 && x.shape().back() == A.shape()[1], "LoRA: input {} x A {}: the last "
            "axis must be {}", shape_str(x.shape()), shape_str(A.shape()), A.shape()[1]);
  TLM_CHECK(row0 >= 0 && rows > 0 && row0 + rows <= B.shape()[0], "LoRA: rows [{}, {}) outside "
            "B {}", row0, row0 + rows, shape_str(B.shape()));
  const Tensor& xin = x.dim() == 1 ? unsqueeze(x, 0) : x;
  Tensor xa = matmul(xin, transpose(A, 0, 1));                            // [..., r]
  Tensor b = rows == B.shape()[0] ? B : narrow(B, 0, row0, rows);          // [rows, r]
  Tensor y = mul(matmul(xa, transpose(b, 0, 1)), scale_);                 // [..., rows]
  return x.dim() == 1 ? squeeze(y, 0) : y;
}

Tensor LoRA::delta_weight() const { return mul(matmul(B, A), scale_); }

int64_t apply_lora(GPT& model, const LoRAOptions& options, Rng& rng) {
  options.validate();
  model.set_requires_grad(false);
  int64_t n = 0;
  for (auto& blk : model.h) {
    blk->for_each_linear([&](const std::string&, Linear& lin) {
      lin.attach_lora(options, rng);
      ++n;
    });
  }
  return n;
}

}  // namespace tlm::nn
