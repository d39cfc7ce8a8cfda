// Embedding: a lookup table of rows, out[b, t] = weight[ids[b, t]].
//
//   nn::Embedding wte(V, C, rng);      // weight [V, C] ~ N(0, 0.02^2)
//   Tensor x = wte.forward(ids);       // ids [B,T] int32 -> [B,T,C]
//
// An id outside [0, V) is an error naming the id and V (kernels::index_select_rows).
#pragma once

#include "nn/module.h"

namespace tlm::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, double init_std = 0.02);
  Tensor forward(const Tensor& ids) const;  // ids [...] int32 -> [..., dim]

  Tensor weight;  // [V, C]
};

}  // namespace tlm::nn
