// Built-in synthetic tasks, selected with `data=` instead of a text file (docs/methods.md,
// "Position probe"):
//
//   probe:position      every input token is 0; the target at position t is t. A model whose
//                       only token mixing is row-normalised attention with relative positions
//                       (softmax + RoPE / NoPE) maps identical inputs to identical outputs and
//                       stays at chance (Su, post 9105); learned positions or relu^2/n pass.
//   probe:position_bos  the same with a BOS marker (id 1) at position 0: solvable by all.
//   task:copy           k random symbols (k uniform in [max(1, T/8), T/2]), a separator, then
//                       the symbols again, repeated cyclically to fill the window; the loss
//                       covers only the tokens after the separator. Tests length extrapolation.
//                       15 symbols: a symbol recurs many times, so a copy is found by position
//                       (k back), not by content.
//   task:recall         m distinct keys (of 128 symbols; m uniform in [2, min(128, (T-1)/2)]),
//                       g filler tokens (g uniform in [0, T - 2m - 1]), a separator at k = m + g,
//                       then the m keys again, cyclically to the end; the loss covers the tokens
//                       from the separator on. In the first copy each key occurs once before,
//                       k + 1 tokens back, so it is found by content: an induction head (Olsson
//                       et al. 2022) matches the current key and reads the one after it; the
//                       later cycles repeat it m back, which teaches that head. The first
//                       copy's match at distance k + 1 is the retrieval the RoPE base bound
//                       (arXiv:2405.14591) is about (first_copy_targets). The vocabulary (130)
//                       does not depend on the context.
//
//   SyntheticTask task("task:copy", /*block_size=*/64);
//   Batch b = task.sample_batch(12, 64, rng);     // x, y int32 [12,64]; y = -100 where ignored
//   auto tok = task.tokenizer();                  // a char tokenizer of task.vocab_size() symbols
#pragma once

#include <map>
#include <memory>
#include <string>

#include "train/data/data.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

// True for the `data` values this file serves ("probe:..." or "task:...").
bool is_synthetic_data(const std::string& data);

class SyntheticTask {
 public:
  // Throws naming the allowed values for an unknown spec.
  SyntheticTask(const std::string& spec, int64_t block_size);

  enum class Kind { PositionProbe, PositionProbeBos, Copy, Recall };

  Kind kind() const { return kind_; }
  // task:copy and task:recall: rows hold a separator (id 0) at k, then the scored copy.
  bool is_copy_task() const { return kind_ == Kind::Copy || kind_ == Kind::Recall; }
  int32_t vocab_size() const { return vocab_; }
  // Targets outside the vocabulary (the position probe at T > block_size) are ignored (-100).
  Batch sample_batch(int64_t batch_size, int64_t T, Rng& rng) const;
  std::unique_ptr<Tokenizer> tokenizer() const;

 private:
  std::string spec_;
  Kind kind_ = Kind::PositionProbe;
  int32_t vocab_ = 0;
};

struct TokenAccuracy {
  int64_t correct = 0, count = 0;  // over targets != -100
};
// argmax of logits [B,T,V] against targets [B,T].
TokenAccuracy token_accuracy(const Tensor& logits, const Tensor& targets);
// task:copy / task:recall: the same accuracy per row's separator position k in x [B,T] (the
// target of position t repeats the symbol at t - k, or t - k + 1 in task:copy's later cycles),
// for accuracy by copy distance. A row without a separator is refused.
std::map<int64_t, TokenAccuracy> copy_accuracy_by_length(const Tensor& logits, const Tensor& x,
                                                         const Tensor& targets);
// task:recall: the targets of the first copy only (positions k .. k + m - 1, each key k + 1
// tokens after its one earlier occurrence), the rest -100; x, targets [B,T].
Tensor first_copy_targets(const Tensor& x, const Tensor& targets);

}  // namespace tlm::train
