// The Lion side effect on embeddings (docs/methods.md, "Embedding drift"; Su,
// kexue.fm/archives/9736): a row of the input embedding gets a gradient only when its token
// occurs in the batch. After its last occurrence Lion keeps u = sign(β1 m + (1 − β1)·0) = sign(m)
// (the momentum decays but keeps its sign), so with decoupled decay
//   θ ← θ(1 − ηλ) − η sign(m)   →   fixed point θ* = −sign(m)/λ
// and every coordinate of a rare token's row moves by η per step towards ±1/λ. AdamW's update
// for such a row dies out (m̂/√v̂ shrinks by β1/√β2 per step). With tied embeddings every row
// also gets the output-head gradient each step, so the effect needs an untied wte.
//
//   auto rows = diag::embedding_drift(wte /*[V,C]*/, counts /*[V]*/, weight_decay);
//   diag::embedding_drift_table(rows, token_text).write_csv("drift.csv");
//
// `tlm diag embedding --ckpt run/ckpt.bin` does this for a checkpoint, with each token's count
// in the training split; scripts/ablate_optimizers.py compares Lion against AdamW with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "train/diag/diag.h"

namespace tlm::train::diag {

struct EmbeddingRow {
  int64_t token = 0;
  int64_t count = 0;        // occurrences in the training text
  double mean_abs = 0;      // mean_j |w_ij|
  double max_abs = 0;       // max_j |w_ij|
  double rms = 0;           // sqrt(mean_j w_ij^2)
  double frac_fixed = 0;    // mean_abs · λ: the share of the way to |θ*| = 1/λ (0 when λ = 0)
  double abs_cv = 0;        // std_j |w_ij| / mean_j |w_ij| (0 for a zero row): ≈ 0.76 for a
                            // Gaussian row (init, AdamW), → 0 for a row that moved by the same
                            // η·k in every coordinate (a Lion row with stale momentum)
};

// wte [V,C] (float32 or float64), counts [V] (the error names both sizes), weight_decay >= 0.
std::vector<EmbeddingRow> embedding_drift(const Tensor& wte, const std::vector<int64_t>& counts,
                                          double weight_decay);
// One row per token: token, text, count, mean_abs, max_abs, rms, frac_fixed, abs_cv.
Table embedding_drift_table(const std::vector<EmbeddingRow>& rows,
                            const std::vector<std::string>& token_text = {});

}  // namespace tlm::train::diag
