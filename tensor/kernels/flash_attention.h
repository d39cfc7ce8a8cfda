// Fused causal softmax attention, tiled, with an online softmax (FlashAttention, Dao et al.
// 2022, arXiv:2205.14135; FlashAttention-2, arXiv:2307.08691): O = softmax(c S) V with
// S = Q K^T, computed block by block so the [Tq, Tk] score matrix never exists in memory.
//
//   forward, per query row i (c_i its scale, visible keys j as in causal_softmax):
//     m_i = max_j c_i S_ij,  l_i = sum_j exp(c_i S_ij - m_i),  O_i = sum_j exp(c_i S_ij - m_i) V_j / l_i
//     (m_i, l_i and O_i are updated one key block at a time), and it keeps lse_i = m_i + log l_i
//   backward, recomputing P_ij = exp(c_i S_ij - lse_i) one tile at a time:
//     D_i = sum_d dO_id O_id,  dV = P^T dO,  dS_ij = c_i P_ij ((dO V^T)_ij - D_i),
//     dQ = dS K,  dK = dS^T Q
//
// Short contexts (all keys in one tile, Tk <= kFlashBlock) may keep the probabilities P of
// the forward pass (keep_probs): the backward then reads P instead of recomputing S = Q K^T
// and its exponentials, one product and one exp pass fewer per tile. P is at most
// kFlashBlock^2 values per (batch, head), so the memory stays linear in the context.
//
// Memory is linear in the context length: the saved state is O and lse, and each thread
// works in tiles of kFlashBlock x kFlashBlock scores. Tiles above the causal diagonal (and,
// with a window, left of it) are never computed. The products inside a tile are sgemm calls,
// one thread each; the (batch, head, query block) tiles are spread over the threads.
//
// Shapes: q [B,H,Tq,Dk], k [B,H,Tk,Dk], v [B,H,Tk,Dv], Tk = offset + Tq; any strides with
// the last one 1 (the [B,T,H,D] views attention makes are read in place). The output is
// [B,H,Tq,Dv], stored as [B,Tq,H,Dv] (so merging the heads back is free).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tlm::kernels {

constexpr int64_t kFlashBlock = 64;

struct FlashAttentionResult {
  Tensor out;    // [B,H,Tq,Dv]
  Tensor lse;    // [B,H,Tq] log-sum-exp of each row's scaled scores
  Tensor probs;  // [B,H,Tq,Tk] softmax(c S), masked entries 0: only with keep_probs and
                 // Tk <= kFlashBlock, else undefined
};

// True when keep_probs applies: every key of a row fits in one tile.
inline bool flash_keeps_probs(int64_t Tk) { return Tk <= kFlashBlock; }

// row_scale: c_i for each query row (Tq values). offset / window as in causal_softmax.
FlashAttentionResult flash_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                     const std::vector<double>& row_scale, int64_t offset,
                                     int64_t window, bool keep_probs = false);

// probs: the forward's FlashAttentionResult::probs, or undefined to recompute them.
struct FlashAttentionGrads {
  Tensor dq, dk, dv;  // shaped like q, k, v
};

FlashAttentionGrads flash_attention_backward(const Tensor& grad_out, const Tensor& q,
                                             const Tensor& k, const Tensor& v, const Tensor& out,
                                             const Tensor& lse,
                                             const std::vector<double>& row_scale,
                                             int64_t offset, int64_t window,
                                             const Tensor& probs = Tensor());

}  // namespace tlm::kernels
