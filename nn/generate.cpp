#include "nn/generate.h"

#include <algorithm>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/sampling.h"

namespace tlm::nn {

Tensor generate(const Tensor& prompt, int64_t max_new_tokens, const SamplingOptions& sampling,
                int64_t context, const LogitsFn& logits_for, KVCache* cache, Rng& rng) {
  TLM_CHECK(prompt.dim() == 2 && prompt.dtype() == DType::I32 && prompt.shape()[1] > 0,
            "generate: the prompt must be int32 [B,T] with T > 0, got {}", prompt.str());
  TLM_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}", max_new_tokens);
  TLM_CHECK(context > 0, "generate: the context must be > 0, got {}", context);
  NoGradGuard no_grad;
  const int64_t B = prompt.shape()[0], T0 = prompt.shape()[1];
  std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(B));
  {
    const std::vector<int32_t> p = prompt.to_vector<int32_t>();
    for (int64_t b = 0; b < B; ++b) seqs[b].assign(p.begin() + b * T0, p.begin() + (b + 1) * T0);
  }
  // Feeds seqs[b][from, to) for every row.
  auto window = [&](int64_t from, int64_t to) {
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < B; ++b) ids.insert(ids.end(), seqs[b].begin() + from, seqs[b].begin() + to);
    return Tensor::from_vector(ids, {B, to - from});
  };
  int64_t fed = 0;  // tokens of seqs already in the cache
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const int64_t len = static_cast<int64_t>(seqs[0].size());
    Tensor logits;
    if (cache && fed > 0 && len <= context) {
      logits = logits_for(window(fed, len), cache);  // only the new tokens
    } else {
      if (cache) cache->reset();  // first step, or the context is full: recompute the last ones
      logits = logits_for(window(std::max<int64_t>(0, len - context), len), cache);
    }
    fed = len;
    append_sampled_tokens(logits, seqs, sampling.temperature, sampling.top_k, sampling.top_p, rng);
  }
  const int64_t L = static_cast<int64_t>(seqs[0].size());
  std::vector<int32_t> out;
  for (auto& s : seqs) out.insert(out.end(), s.begin(), s.end());
  return Tensor::from_vector(out, {B, L});
}

}  // namespace tlm::nn
