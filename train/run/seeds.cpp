#include "train/run/seeds.h"

#include "tensor/random.h"

namespace tlm::train {

uint64_t derive_seed(int64_t seed, uint64_t stream) {
  Rng r(static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull + stream);
  return r.next_u64();
}

int64_t sample_seed(int64_t seed, int64_t i) {
  if (i == 0) return seed;
  const uint64_t stream = static_cast<uint64_t>(Stream::Sample) + 16 * static_cast<uint64_t>(i);
  return static_cast<int64_t>(derive_seed(seed, stream) >> 1);
}

}  // namespace tlm::train
