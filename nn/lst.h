// Ladder Side-Tuning (LST, Sung et al., arXiv:2206.06522; docs/methods.md, "Ladder Side-Tuning"):
// the backbone GPT is frozen and run without recording a graph; a narrow side network, fed by
// every backbone layer through a ladder of down-projections and gates, is the only thing trained.
//
//   h^S_0 = D_0(e)                                  e = token (+ position) embeddings
//   h^S_i = f^S_i( mu_i h^S_{i-1} + (1 - mu_i) D_i(h^B_i) ),   mu_i = sigmoid(alpha_i / T)
//   logits = up(LN^S(h^S_L)) W_head^T               W_head = the backbone's frozen LM head
//
// h^B_i is the output of backbone block i (i = 1..L), D_i: C -> C/r a Linear with bias,
// f^S_i a Transformer block of width C/r (same norm/FFN/attention kind as the backbone, every
// head kept with head size D/r, MLP hidden H/r), alpha_i a scalar initialised to 0 (mu = 0.5),
// T = gate_temperature (0.1), up: C/r -> C without bias. Backpropagation never enters the
// backbone: its hidden states are constants, so training memory and time scale with the side
// network (the backbone's forward activations are freed as it goes).
//
// output = residual (a tlm option, not in the paper): logits = (h^B_out + up(LN^S(h^S_L)))
// W_head^T, h^B_out the backbone's final normed hidden state (a constant), up initialised to
// 0 -- the tuned model starts as the backbone (as LoRA does) and the side learns a correction.
//
// Init by structured pruning, as in the paper (Sung et al.):
// every backbone weight W gets an importance
//
//   I(W) = sum_{n=1..N} (dL_n / dW)^2        empirical Fisher, N samples at batch 1 (paper: 1,024)
//
// (LSTOptions::importance, computed by empirical_fisher() below; without it, |W|, the weight
// magnitude). Rows/columns are scored by the L1 norm of I: the residual dims S (|S| = C/r)
// with the largest mass over wte, every block's input columns and output rows; per block and
// head the q/k dims (joint, so q.k stays a sub-sum) and v dims with the largest scores; the
// MLP units with the largest scores of their c_fc row(s) and c_proj column -- the top 1/r of
// each, consistently. The side blocks get the surviving WEIGHTS; D_i starts as the selection
// of S (so h^S_0 = e[S]), up as its
// transpose (scatter back to C), the side norm as the backbone's final norm at S.
//
//   nn::LSTOptions o;  o.reduction = 8;
//   nn::LadderSide side(backbone, o, rng);   // backbone: frozen here (requires_grad off)
//   Tensor logits = side.forward(ids, rng);  // [B,T,V]; only side.parameters() get gradients
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/choices.h"
#include "nn/gpt.h"
#include "nn/transformer_block.h"

namespace tlm::nn {

struct LSTOptions {
  int64_t reduction = 8;          // r: side width C / r
  double gate_temperature = 0.1;  // T of mu_i = sigmoid(alpha_i / T)
  LstOutput output = LstOutput::Side;  // side (the paper) | residual (backbone output + side correction)
  // Pruning importance per backbone parameter (named_parameters() names, same shapes, >= 0),
  // e.g. empirical_fisher(); a parameter without an entry (all of them when empty) is scored
  // by |W|.
  std::map<std::string, Tensor> importance = {};
};

// One training sample for empirical_fisher(): ids and targets, int32 [1, T].
using FisherSample = std::pair<Tensor, Tensor>;

// Empirical Fisher of the LM cross-entropy (mean over the T positions of a window) w.r.t.
// every parameter of `model`: I(W) = sum_{n<N} (dL_n/dW)^2, one forward + backward per sample
// at batch 1, sample(n) giving sample n. Accumulated in float64 and returned in each
// parameter's dtype, keyed by named_parameters() names. Runs in eval mode (no dropout);
// restores the train/eval mode, leaves every parameter with requires_grad = false and no
// grad, and keeps no graph. n_samples >= 1.
std::map<std::string, Tensor> empirical_fisher(GPT& model,
                                               const std::function<FisherSample(int64_t)>& sample,
                                               int64_t n_samples);


class LadderSide : public Module {
 public:
  // Freezes `backbone` (kept by reference: it must outlive this) and builds the side network,
  // initialised from it by structured pruning. Errors name lst_reduction when r does not
  // divide the width, the head size or the MLP hidden size; a backbone whose blocks are not
  // Transformer blocks (block = gau, ...) is refused: the pruning rules read heads and MLP units.
  LadderSide(GPT& backbone, const LSTOptions& options, Rng& rng);

  // ids [B,T] int32 -> logits [B,T,V]. The backbone runs under NoGradGuard (in this module's
  // train/eval mode); only the side network records a graph.
  Tensor forward(const Tensor& ids, Rng& rng);
  // prompt [B,T0] -> [B, T0 + n]: each token from a full forward over the last block_size
  // tokens (no KV cache), in eval mode and without grad; the mode is restored after.
  Tensor generate(const Tensor& prompt, int64_t max_new_tokens, double temperature, int64_t top_k,
                  double top_p, Rng& rng);

  // The ladder inputs [e, h^B_1, .., h^B_L] ([B,T,C] each), computed without grad; with
  // output = residual one more: the backbone's final normed hidden state.
  std::vector<Tensor> backbone_states(const Tensor& ids, Rng& rng);
  // mu_i = sigmoid(alpha_i / T), i = 0..L-1.
  std::vector<double> gates() const;
  int64_t width() const { return width_; }
  const GPT& backbone() const { return *backbone_; }

  std::vector<std::unique_ptr<Linear>> down;   // L+1 ladders D_0..D_L, weight [C/r, C]
  Tensor gate;                                 // [L] alpha_i
  std::vector<std::unique_ptr<TransformerBlock>> blocks;  // L side blocks, width C/r
  std::unique_ptr<Norm> ln_f;                  // [C/r]
  std::unique_ptr<Linear> up;                  // weight [C, C/r]

 private:
  void prune_from_backbone_();
  GPT* backbone_;
  LSTOptions opt_;
  int64_t width_;  // C / r
};

}  // namespace tlm::nn
