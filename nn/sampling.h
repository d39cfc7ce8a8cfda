// Sampling the next token from logits: temperature, top-k and nucleus (top-p) filtering.
//
//   int32_t id = nn::sample_logits(logits_row, /*temperature=*/0.8, /*top_k=*/40, /*top_p=*/0.95, rng);
//
// temperature 0 is greedy (argmax, first on ties); top_k 0 and top_p 1 disable the filters.
// Top-p (Holtzman et al., arXiv:1904.09751) keeps the smallest set of most likely tokens whose
// probability reaches p (after top-k and temperature).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tlm::nn {

int32_t sample_logits(const std::vector<double>& logits, double temperature, int64_t top_k,
                      double top_p, Rng& rng);

// One generation step for B sequences: samples a token from the last position of each row of
// logits [B, T, V] and appends it to seqs[b] (GPT::generate and LadderSide::generate).
void append_sampled_tokens(const Tensor& logits, std::vector<std::vector<int32_t>>& seqs,
                           double temperature, int64_t top_k, double top_p, Rng& rng);

}  // namespace tlm::nn
