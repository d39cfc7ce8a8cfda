// AttentionProbe: an optional, off-by-default recorder of attention entropy, for diagnostics
// (`tlm diag entropy`). Attach one to a layer's CausalSelfAttention::probe and each forward pass
// adds, per head, the entropy of every query row's attention distribution:
//
//   H_i = -sum_j a_ij log a_ij        (a_ij: the probabilities after the causal softmax)
//
// the quantity the log-n ("entropy-invariant") scale keeps constant across context lengths
// (docs/methods.md, "Attention entropy"; kexue.fm/archives/8823). A uniform row over n keys
// has H = log n.
//
//   nn::AttentionProbe probe;
//   model.h[0]->attn.probe = &probe;
//   model.forward(ids, rng);                  // under NoGradGuard
//   double h = probe.mean_last(2);            // head 2, last query row (sees all T keys)
//   model.h[0]->attn.probe = nullptr;
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::nn {

struct AttentionProbe {
  std::vector<double> sum_all;   // [H] entropy summed over every (batch, query row)
  std::vector<double> sum_last;  // [H] entropy of the last query row, summed over the batch
  int64_t rows = 0;              // (batch, query row) pairs per head in sum_all
  int64_t batches = 0;           // batch rows per head in sum_last

  // att [B,H,T,Tk] probabilities (rows sum to 1; masked entries are 0).
  void record(const Tensor& att);
  void reset() { *this = AttentionProbe(); }
  double mean_all(int64_t head) const;   // mean entropy over every query row
  double mean_last(int64_t head) const;  // mean entropy of the last query row
};

}  // namespace tlm::nn
