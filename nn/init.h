// Parameter initialisers. They write in place (version bump) without recording a graph.
//
//   init::normal_(linear.weight, rng, 0.02);                     // N(0, 0.02^2)
//   init::normal_(w, rng, init::xavier_normal_std(C, 4 * C, beta));  // DeepNet's Xavier(gain)
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tlm::nn::init {

// t ~ N(0, std^2), drawn in row-major order from rng.
void normal_(Tensor& t, Rng& rng, double std);
void zeros_(Tensor& t);
void ones_(Tensor& t);
// Glorot & Bengio's normal init: std = gain * sqrt(2 / (fan_in + fan_out)).
double xavier_normal_std(int64_t fan_in, int64_t fan_out, double gain = 1.0);

}  // namespace tlm::nn::init
