#include "nn/embedding.h"

namespace tlm::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, double init_std) {
  TLM_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got {} x {}",
            num_embeddings, dim);
  register_parameter("weight", weight, Tensor::randn({num_embeddings, dim}, rng, init_std));
}

Tensor Embedding::forward(const Tensor& ids) const {
  TLM_CHECK(ids.dtype() == DType::I32, "Embedding: ids must be int32, got {}", ids.str());
  return index_select(weight, ids);
}

}  // namespace tlm::nn
