// Every random stream of a run, derived from the one `seed` key, so that e.g. changing
// eval_iters never changes the training batches and `tlm diag grads` draws the batches
// `tlm train` draws for the same config.
//
//   Rng data(derive_seed(cfg.seed, Stream::Data));
//   Rng eval(derive_seed(cfg.seed, eval_stream(step)));   // evaluation at `step`
//
// derive_seed(seed, stream) = the first output of Rng(seed * 0x9E3779B97F4A7C15 + stream) (the
// golden-ratio increment of SplitMix64, tensor/random.h): one SplitMix step decorrelates
// neighbouring seeds and streams. The stream numbers are fixed: a checkpoint stores the data and
// dropout Rngs, but a fresh run at the same seed must reproduce the same losses. (Seeds a user
// chooses stay raw: `tlm sample --seed N` samples from Rng(N); the sample `tlm train --sample`
// prints after training draws from its own stream, Stream::Sample.)
#pragma once

#include <cstdint>

namespace tlm::train {

enum class Stream : uint64_t {
  Init = 1,        // the model's initial weights (and a task model's heads)
  Data = 2,        // training batches
  Dropout = 3,     // dropout masks
  Eval = 4,        // evaluation batches: eval_stream(step) = 4 + 16 step
  Fisher = 5,      // LST: the train windows of the empirical Fisher importance
  ProbeEval = 7,   // `tlm eval` of a built-in task (train/data/probes.h)
  TaskPairs = 8,   // `tlm task pairs`: the partner lines of the train split
  TaskPairsVal = 9,  // ... and of the held-out split
  Sample = 10,     // what `tlm train --sample N` prints after training, and `tlm sample
                   // --num_samples N`'s samples i >= 1 (sample_seed below)
};

uint64_t derive_seed(int64_t seed, uint64_t stream);
inline uint64_t derive_seed(int64_t seed, Stream stream) {
  return derive_seed(seed, static_cast<uint64_t>(stream));
}

// The seed of sample i of `tlm sample --num_samples N --seed S`: sample 0 draws from S itself (so
// it is the single sample of `--seed S`), sample i >= 1 from derive_seed(S, 10 + 16 i) with the
// top bit cleared, a seed that `--seed` accepts and reproduces alone.
int64_t sample_seed(int64_t seed, int64_t i);

// The stream of the evaluation at `step`: 4 + 16 step, never one of the fixed streams above.
inline uint64_t eval_stream(int64_t step) {
  return static_cast<uint64_t>(Stream::Eval) + 16 * static_cast<uint64_t>(step);
}

}  // namespace tlm::train
