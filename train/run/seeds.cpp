#include "train/run/seeds.h"

#include "tensor/random.h"

namespace tlm::train {

uint64_t derive_seed(int64_t seed, uint64_t stream) {
  Rng r(static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull + stream);
  return r.next_u64();
}

}  // namespace tlm::train
