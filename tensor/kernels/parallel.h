// The OpenMP policy of tlm's own loops, in one place.
//
// Loops over fewer than kParallelGrain elements run on one thread: starting a parallel region
// costs a few microseconds, more than a small loop takes. OpenBLAS (its OpenMP build) shares
// OpenMP's thread pool, so BLAS calls and these loops never oversubscribe the cores.
#pragma once

#include <cstdint>

#include "tensor/shape.h"

namespace tlm::kernels {

constexpr int64_t kParallelGrain = 32768;

// Sets the thread count for OpenMP and OpenBLAS together (the one place tlm does this);
// n <= 0 means one thread per core.
void set_num_threads(int n);
int num_threads();

// Offsets, for each of `n` stride vectors, of the first element of row `row`, where a row is
// one index into all dimensions but the last. Used to walk strided/broadcast tensors.
inline void row_offsets(int64_t row, const Shape& shape, const Strides* const* strides, int n,
                        int64_t* out) {
  for (int k = 0; k < n; ++k) out[k] = 0;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d) {
    int64_t idx = row % shape[d];
    row /= shape[d];
    for (int k = 0; k < n; ++k) out[k] += idx * (*strides[k])[d];
  }
}

}  // namespace tlm::kernels
