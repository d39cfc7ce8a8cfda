#include "nn/block.h"

namespace tlm::nn {

void BlockOptions::validate() const {
  attn.validate();
  TLM_CHECK(norm_eps >= 0, "norm_eps: must be >= 0, got {}", norm_eps);
  TLM_CHECK(mlp_hidden >= 0, "mlp_hidden: must be >= 0 (0 = default), got {}", mlp_hidden);
  TLM_CHECK(n_layer > 0, "n_layer: must be > 0, got {}", n_layer);
}

}  // namespace tlm::nn
