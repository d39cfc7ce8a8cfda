// Autoregressive generation: the one loop behind GPT::generate and LadderSide::generate.
//
//   nn::KVCache cache = model.make_cache();
//   Tensor out = nn::generate(prompt, 100, {.temperature = 0.8}, model.config().block_size,
//       [&](const Tensor& ids, nn::KVCache* c) { return model.forward(ids, rng, c); }, &cache, rng);
//
// Each step samples one token per row from the logits of the last position (nn/sampling.h).
// With a cache, only the new tokens are fed; once the sequence is longer than `context` the
// last `context` tokens are recomputed from scratch each step (learned positions shift, so
// cached keys no longer apply). Without one (cache = nullptr), every step feeds the last
// `context` tokens. Runs under NoGradGuard; the caller chooses the train/eval mode.
#pragma once

#include <cstdint>
#include <functional>

#include "nn/attention.h"

namespace tlm::nn {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
};

// ids [B,n] int32 (and the cache, when there is one) -> logits [B,n,V]; advances the cache.
using LogitsFn = std::function<Tensor(const Tensor& ids, KVCache* cache)>;

// prompt [B,T0] int32, T0 > 0 -> [B, T0 + max_new_tokens].
Tensor generate(const Tensor& prompt, int64_t max_new_tokens, const SamplingOptions& sampling,
                int64_t context, const LogitsFn& logits_for, KVCache* cache, Rng& rng);

}  // namespace tlm::nn
