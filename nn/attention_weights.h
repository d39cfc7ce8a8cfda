// Attention weights A from raw scores S = q k^T, for the normalisations and scales of
// docs/methods.md, "Attention weights", shared by CausalSelfAttention and GAU:
//
//   softmax: A_ij = softmax_j(c_i S_ij)                 (masked j excluded)
//   relu2:   A_ij = relu(c_i S_ij)^2 / n_i              (FLASH, arXiv:2202.10447; with c = 1/sqrt(s)
//                                                        this is Su's relu(S)^2 / (n s))
//   c_i = base                                          attn_scale = sqrt (base = 1/sqrt(d))
//   c_i = base * log(n_i) / log(N)                      attn_scale = logn (entropy-invariant,
//                                                        Su post 8823; exactly base at n_i = N)
//   n_i = keys visible to query row i: min(offset + i + 1, window)  (window 0 = no limit)
//   N   = the training context (block_size)
//
//   Tensor A = attention_weights(matmul(q, transpose(k)), o, /*offset=*/n_cached);
//
// c_i and the mask are constants, so the gradient flows through ordinary ops:
// relu2: dA/dS = 2 c_i^2 relu(c_i S)/n_i; softmax: dS_ij = c_i a_ij (dA_ij - sum_k a_ik dA_ik).
#pragma once

#include <vector>

#include "nn/choices.h"
#include "tensor/tensor.h"

namespace tlm::nn {

struct AttentionWeightOptions {
  AttnKind attn = AttnKind::Softmax;    // softmax | relu2
  AttnScale attn_scale = AttnScale::Sqrt;  // sqrt | logn
  double base_scale = 1.0;           // 1/sqrt(d) (d = head size, or GAU's s)
  int64_t train_len = 64;            // N of log_N(n)
  int64_t window = 0;                // > 0: sliding window of that many keys
};

// n_i for rows i = 0 .. rows-1 whose first query sits at absolute position `offset`.
std::vector<double> visible_keys(int64_t rows, int64_t offset, int64_t window);

// The per-row score scale c_i (see above).
std::vector<double> row_scales(int64_t rows, int64_t offset, const AttentionWeightOptions& o);

// scores [..., Tq, Tk] with Tk = offset + Tq -> A [..., Tq, Tk] (zero at masked entries), by the
// attn entry's AttentionForm (nn/choices.cpp): a new normalisation is one entry there and its
// weights function here.
Tensor attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset = 0);

// The forms' functions (called through attention_weights / fused_attention, which check shapes).
Tensor softmax_attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset);
Tensor relu2_attention_weights(const Tensor& scores, const AttentionWeightOptions& o, int64_t offset);
Tensor softmax_fused_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                               const AttentionWeightOptions& o, int64_t offset);

// Whether A v can run as one tiled kernel (autograd/ops/flash_attention.h: same values, memory
// linear in the context) instead of matmul + attention_weights + matmul: only for a form with a
// fused kernel (softmax), when
// nothing needs A itself (attention dropout, a probe) and in fp32 (under a bf16/fp16 precision
// scope the composed matmuls do the rounding). `requested` is the attn_kernel = fused switch.
bool fused_attention_applies(const AttentionWeightOptions& o, bool requested, bool needs_weights,
                             DType dtype);

// A v for q [B,H,Tq,Dk], k [B,H,Tk,Dk], v [B,H,Tk,Dv] through the tiled kernel ([B,H,Tq,Dv]).
Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                       const AttentionWeightOptions& o, int64_t offset = 0);

}  // namespace tlm::nn
