// The lower bound on the RoPE base for a context length ("Base of RoPE Bounds Context
// Length", arXiv:2405.14591; Su, post 10122; docs/methods.md, "RoPE base bound"):
//
//   B_{m,theta} = sum_{i=0}^{h/2-1} cos(m theta_i),  theta_i = b^(-2i/h)
//   b* = inf { b : B_{m,theta(b)} >= 0 for all m in 0 .. L-1 }
//
// B is not monotone in b, so the search is Su's coarse-to-fine scan, not bisection: start at
// B = 1000 L; for k = 1 .. 5 take 10^k evenly spaced points of [0, B] and set B to the
// smallest one that satisfies the condition.
//
//   double b = rope_base_lower_bound(/*context=*/256, /*head_size=*/64);   // ~1.41e3
//   int64_t L = rope_context_limit(10000, 64);                            // 725
#pragma once

#include <cstdint>

namespace tlm::nn {

// B_{m,theta(base)} for head size h (even).
double rope_cos_sum(int64_t m, double base, int64_t head_size);
// The first m in [0, limit) with B_{m,theta} < 0, or -1 when there is none.
int64_t rope_first_negative(double base, int64_t head_size, int64_t limit);
// The largest context L whose every m < L keeps B >= 0 (searched up to max_context).
int64_t rope_context_limit(double base, int64_t head_size, int64_t max_context = 1 << 22);
// b* for context L and head size h (the scan above).
double rope_base_lower_bound(int64_t context, int64_t head_size);

}  // namespace tlm::nn
