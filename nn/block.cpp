#include "nn/block.h"

namespace tlm::nn {

void BlockOptions::validate() const {
  attn.validate();
  TLM_CHECK(norm == "pre" || norm == "post" || norm == "deepnorm",
            "norm: '{}' is not one of pre|post|deepnorm", norm);
  TLM_CHECK(norm_type == "layernorm" || norm_type == "rmsnorm",
            "norm_type: '{}' is not one of layernorm|rmsnorm", norm_type);
  TLM_CHECK(ffn == "gelu" || ffn == "gelu_tanh" || ffn == "geglu" || ffn == "swiglu",
            "ffn: '{}' is not one of gelu|gelu_tanh|geglu|swiglu", ffn);
  TLM_CHECK(norm_eps >= 0, "norm_eps: must be >= 0, got {}", norm_eps);
  TLM_CHECK(mlp_hidden >= 0, "mlp_hidden: must be >= 0 (0 = default), got {}", mlp_hidden);
  TLM_CHECK(n_layer > 0, "n_layer: must be > 0, got {}", n_layer);
}

}  // namespace tlm::nn
