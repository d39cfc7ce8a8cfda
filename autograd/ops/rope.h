// Rotary position embedding (RoPE, Su et al., arXiv:2104.09864; docs/methods.md, "RoPE").
//
//   RopeTables tab = rope_tables(/*positions=*/T, /*head_dim=*/D, /*base=*/10000, DType::F32);
//   Tensor q2 = rope(q, tab);             // q [B,H,T,D]: position t rotated by t * theta_i
//   Tensor k2 = rope(k, tab, /*offset=*/n);  // with a KV cache: positions n .. n+T-1
//
// Pairs are *adjacent* dims (2i, 2i+1) as in Su/RoFormer (not GPT-NeoX's (i, i+D/2));
// theta_i = base^(-2i/D), i = 0 .. D/2-1. Then (R_m q).(R_n k) = q.(R_{n-m} k).
#pragma once

#include "tensor/tensor.h"

namespace tlm {

struct RopeTables {
  Tensor cos;  // [P, D/2]: cos(p * theta_i)
  Tensor sin;  // [P, D/2]: sin(p * theta_i)
  int64_t positions() const { return cos.defined() ? cos.size(0) : 0; }
};

// The angles p * theta_i are formed in float64 (fp32 angles lose accuracy for large p),
// then cos/sin are stored in `dtype`.
RopeTables rope_tables(int64_t positions, int64_t head_dim, double base, DType dtype);
// Makes `tables` cover at least `positions` (and at least `min_positions`) in `dtype`,
// rebuilding them only when they are too short or of another dtype (KV caches and longer
// evaluation contexts grow them on demand).
void ensure_rope_tables(RopeTables& tables, int64_t positions, int64_t min_positions,
                        int64_t head_dim, double base, DType dtype);

// x [..., T, D]: rotates position offset + t of every row. Differentiable in x; the backward
// is the rotation by the negated angle (R^T = R^-1).
Tensor rope(const Tensor& x, const RopeTables& tables, int64_t offset = 0);

}  // namespace tlm
