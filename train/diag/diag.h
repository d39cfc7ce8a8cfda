// Diagnostics behind `tlm diag`: what a model costs, how its layers move during training,
// how sharp its attention is, and which tokens its head can never predict. Each returns rows
// that write_csv() stores; scripts/plot_diag.py turns the CSV into a PNG.
//
//   auto rows = train::diag::cost_by_component(model);            // params + FLOPs/token
//   auto g = train::diag::grad_increments(cfg, 50);               // per-block |g|, |dθ|/|θ|
//   auto e = train::diag::attention_entropy(model, tokens, {16, 32, 64}, 4);
//   auto u = train::diag::unargmaxable(W /*[V,d]*/, b /*[V] or {}*/);
//
// docs/diagnostics.md shows each one with its plot and what to look for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/gpt.h"
#include "train/io/config.h"

namespace tlm::train::diag {

// A table: a header and rows of cells, written as CSV (numbers with full precision).
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  void write_csv(const std::string& path) const;
  std::string to_csv() const;
};

// A token's text as a CSV cell: printable ASCII kept, other bytes as \xNN, quoted if needed.
std::string token_cell(const std::string& text);

// ---- parameters and FLOPs per token by component ----
// Components: embeddings (wpe; wte when untied), attention (c_attn, c_proj, a GAU's whole unit,
// and the score / weighted-sum FLOPs of every block: 12 C T per Transformer layer), mlp, norms
// (ln_1, ln_2, ln_f), head (lm_head, or wte when tied: the tied matrix is counted once, as the
// output projection), other (a block parameter its block files under CostComponent::Other).
// A block parameter h.i.* is placed by block i (nn::Block::component_of). FLOPs follow
// GPT::flops_per_token (6 per weight of num_non_embedding_parameters, plus each block's
// attention_flops_per_token), so the column sums to it and the params column sums to
// num_parameters().
struct ComponentCost {
  std::string component;
  int64_t params = 0;
  double flops_per_token = 0;
};
std::vector<ComponentCost> cost_by_component(const nn::GPT& model);
std::string component_of(const nn::GPT& model, const std::string& param_name);
Table cost_table(const std::vector<ComponentCost>& rows);

// ---- per-block gradient and update norms (docs/methods.md, "Gradient increments") ----
// Trains `steps` optimizer steps from cfg with the step of `tlm train` (train/run/train_step.h:
// the same initial weights, batches, dropout masks, loss, precision, clipping and optimizer as
// `tlm train` for this config) and records, per step and per group (embed,
// h.0 .. h.L-1, head: ln_f and an untied lm_head), the gradient norm before clipping and the
// relative update |θ_new - θ_old| / |θ_old|. Pre-Norm, Post-Norm and DeepNorm differ in how
// these grow with depth and over the first steps.
struct GradRecord {
  int64_t step = 0;
  std::string group;
  double grad_norm = 0;
  double param_norm = 0;
  double update_ratio = 0;
  double loss = 0;  // the step's training loss (the same for every group of a step)
};
std::vector<GradRecord> grad_increments(const TrainConfig& cfg, int64_t steps);
std::string group_of(const std::string& param_name);  // "embed", "h.3", "head"
Table grad_table(const std::vector<GradRecord>& rows);

// ---- attention entropy per layer and head (docs/methods.md, "Attention entropy") ----
// For each length n: `batches` windows of n tokens from `tokens` (evenly spaced), one forward
// pass each under NoGradGuard with a probe on every layer. entropy_last is the last query row
// (it sees all n keys: the quantity log-n scaling keeps constant); entropy_mean averages every
// row. log_n is the entropy of a uniform row over n keys, the ceiling. A GAU layer has one head.
struct EntropyRecord {
  int64_t length = 0;
  int64_t layer = 0;
  int64_t head = 0;
  double entropy_last = 0;
  double entropy_mean = 0;
  double log_n = 0;
};
std::vector<EntropyRecord> attention_entropy(nn::GPT& model, const std::vector<int32_t>& tokens,
                                             const std::vector<int64_t>& lengths, int64_t batches);
Table entropy_table(const std::vector<EntropyRecord>& rows);

// ---- unargmaxable tokens of a head z = W x + b (docs/methods.md, "Unargmaxable tokens") ----
// Token k is argmaxable iff some x makes z_k strictly the largest logit. Per token:
//  1. Braid-Reflect (fast): start at x = w_k; while j = argmax z(x) != k, reflect x across
//     the hyperplane (w_k - w_j)·x + (b_k - b_j) = 0, up to `patience` times.
//  2. Otherwise the exact test on the lifted set (Gordan's theorem): k is argmaxable iff 0 is
//     not in conv({(w_k - w_i, b_k - b_i) : i != k} ∪ {(0, .., 0, 1)}). Its min-norm point p
//     (pairwise Frank-Wolfe) gives the witness x = p_{1:d} / p_{d+1} as soon as <p, c> > 0 for
//     every vertex c; |p| below `tol` (relative to the largest vertex) declares k unargmaxable.
// Every "argmaxable" answer carries a witness x that was checked: argmax(W x + b) = k strictly.
struct ArgmaxResult {
  int64_t token = 0;
  std::string status;  // "argmaxable" | "unargmaxable" | "undecided" (iteration limit)
  std::string method;  // "braid_reflect" | "frank_wolfe"
  int64_t iterations = 0;
  double margin = 0;            // argmaxable: z_k - max_{i != k} z_i at the witness (> 0)
  double min_norm = 0;          // frank_wolfe: |p| at the end (~0 for unargmaxable)
  std::vector<double> witness;  // x [d] (argmaxable only)
};
struct UnargmaxOptions {
  int64_t patience = 0;        // Braid-Reflect iterations (0: 2 V)
  int64_t max_iters = 300000;  // Frank-Wolfe iterations (near-degenerate heads need 1e5)
  double tol = 1e-9;           // |p| / max |c| below which 0 is in the hull
};
// W [V,d] row-major, b [V] or empty (no bias).
ArgmaxResult argmaxable(const std::vector<double>& W, const std::vector<double>& b, int64_t V,
                        int64_t d, int64_t k, const UnargmaxOptions& options = {});
std::vector<ArgmaxResult> unargmaxable(const std::vector<double>& W, const std::vector<double>& b,
                                       int64_t V, int64_t d, const UnargmaxOptions& options = {});
// One row per token: token, text (its decoding: printable ASCII, other bytes as \xNN), status, ...
Table unargmax_table(const std::vector<ArgmaxResult>& rows,
                     const std::vector<std::string>& token_text = {});

}  // namespace tlm::train::diag
