// Rng: a seeded random generator passed explicitly to whatever needs randomness (init,
// dropout, batch sampling). Its whole state is two integers, so checkpoints store it and a
// resumed run draws exactly the numbers the uninterrupted run would have drawn.
//
//   Rng rng(1337);
//   double u = rng.uniform();           // [0, 1)
//   double z = rng.normal();            // N(0, 1)
//   uint64_t k = rng.randint(100);      // [0, 100)
#pragma once

#include <cstdint>

namespace tlm {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { seed_(seed); }

  // splitmix64: small, fast, passes BigCrush, and trivially serialisable.
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  uint64_t randint(uint64_t n);  // uniform in [0, n), unbiased
  double normal();               // Box-Muller, caches the second value

  struct State {
    uint64_t state;
    uint64_t has_spare;
    double spare;
  };
  State state() const { return {state_, has_spare_ ? 1u : 0u, spare_}; }
  void set_state(const State& s) {
    state_ = s.state;
    has_spare_ = s.has_spare != 0;
    spare_ = s.spare;
  }

 private:
  void seed_(uint64_t seed) {
    state_ = seed;
    has_spare_ = false;
    spare_ = 0;
  }
  uint64_t state_ = 0;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace tlm
