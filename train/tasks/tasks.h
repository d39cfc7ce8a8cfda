// Small supervised tasks built from the lines of a text (tiny Shakespeare), so the multi-label,
// sentence-pair and multi-task losses of nn/loss are trained for real, not only unit-tested.
//
//   TaskOptions o;  o.task = "multilabel";  o.loss = "zlpr";
//   nlohmann::json r = run_task(cfg /*model, optimizer, loop keys*/, o, stderr);
//   // r: {"task":"multilabel","loss":"zlpr","micro_f1":..,"macro_f1":..,...}
//
// Data (deterministic, no randomness except the seeded pair partners):
//   lines      the text's lines, trimmed, without empty lines and speaker headers (a line
//              ending in ':' with at most 4 words, "First Citizen:"); line i goes to the
//              held-out split when i % 10 == 9, else to train.
//   words      lowercase runs of letters (an apostrophe between letters stays: "o'er").
//   multilabel K = 8 labels per line (line_label_names): 0 first person {i me my mine myself we
//              us our ours}, 1 second person {thou thee thy thine you your yours ye}, 2 negation
//              {not no nor never none nothing}, 3 royalty {king queen prince princess lord lady
//              crown duke majesty}, 4 kin and love {love father mother son daughter brother
//              sister heart}, 5 death and war {death dead die kill blood sword war}, 6 the line
//              has '?', 7 the line has '!'. Hard label y_k = [count_k > 0]; soft label (soft
//              ZLPR) t_k = 1 - 0.25^count_k (0, 0.75, 0.9375, ...): more evidence, surer label,
//              and t_k > 1/2 exactly when y_k = 1, so F1 at s > 0 is the same metric.
//   multilabel, labels = rare_words: K = 64 labels, "word w occurs in the line", for the 64
//              words with the most training lines among those in at most 1 % of them (ties by
//              word): extreme imbalance (tiny Shakespeare: prevalence 0.8-1 %). Counts, soft
//              labels and F1 as above.
//   pairs      for anchor line i with n >= 2 words (within a split), grade g = i mod 5; b = the
//              first round(n g / 4) words of the anchor followed by the first words of a partner
//              line of the same split (Rng(seed) draws it), up to n words in all. The label is
//              the Jaccard similarity of the two word sets, |A & B| / |A | B|, in [0, 1]
//              (g = 4 gives b = a and label 1). Only the order of labels matters (CoSENT,
//              Spearman).
//   lm_aux     the language-model stream of the text (char tokens) plus an auxiliary per-token
//              label: is the next character a vowel (a e i o u, either case); with aux =
//              line_end instead a regression target: the characters from the target to the
//              next newline within the window (0 for a newline; the distance to the window's
//              end when none follows), squared error: a loss of order 10^2 against the LM's
//              few nats, and not solvable from the prefix (the line's length is unknown).
// Model: the GPT trunk of the config (wte, wpe, blocks, ln_f; its LM head unused except in
// lm_aux) as an encoder. Attention stays causal: a line's embedding is the masked mean of the
// hidden states over its own characters (pads come after and are never attended to), so each
// position summarises its prefix and the mean covers the whole line. Heads: Linear(C, 8) for
// multilabel; none for pairs (cosine of the two pooled vectors); Linear(C, 2) for lm_aux
// (Linear(C, 1) for aux = line_end).
// Losses and schemes (docs/methods.md):
//   multilabel  zlpr | soft_zlpr | rdrop (ZLPR(s) + ZLPR(t) + alpha D(s,t), two dropout
//               passes; needs dropout > 0) | bce (per-entry sigmoid cross-entropy, the baseline)
//               | bce_weighted (bce with positive weight n_neg/n_pos per label, nn/loss/pointwise.h)
//   pairs       cosent (lambda = 20)
//   lm_aux      weighting fixed (L_lm + w L_aux) | realtime (sum L_i / sg(L_i)) | uncertainty
//               (learned log sigma^2) | gradnorm (sum g_i/|g_i|) | mgda (min-norm) | main_aux
//               (g_lm + lambda g_aux, lambda = relu(-<g_lm,g_aux>)/|g_aux|^2)
// Metrics on the held-out split (its first eval_examples examples, in file order): multilabel micro/macro F1 at score 0 (sigma(2s) > 1/2 for
// soft ZLPR: the same threshold) and exact match; pairs Spearman's rho of cosine vs label;
// lm_aux the LM cross-entropy, the auxiliary loss (val_aux_loss: CE or squared error) and the
// auxiliary accuracy (vowel) or R^2 = 1 - MSE / variance of the targets (line_end).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nn/gpt.h"
#include "nn/linear.h"
#include "train/io/config.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

// ---- data ----
struct TaskLines {
  std::vector<std::string> train, val;
};
TaskLines task_lines(const std::string& text);
std::vector<std::string> line_words(const std::string& line);

constexpr int kNumLineLabels = 8;
const std::vector<std::string>& line_label_names();
std::vector<int32_t> line_label_counts(const std::string& line);  // [8] occurrences
std::vector<int32_t> line_labels(const std::string& line);        // [8] 0/1
std::vector<double> line_soft_labels(const std::string& line);    // [8] 1 - 0.25^count
// labels = rare_words: the k words with the most lines among those in at most max_prevalence
// of `lines` (ties by word), most frequent first; fewer when fewer words qualify.
std::vector<std::string> rare_label_words(const std::vector<std::string>& lines, int k = 64,
                                          double max_prevalence = 0.01);
// aux = line_end: for targets y [B*T] (row-major [B,T]), per entry the distance to the first
// newline at or after it in its row, or to the row's end (T - t) when there is none.
std::vector<float> line_end_targets(const std::vector<int32_t>& y, int64_t T, int32_t newline_id);

struct PairExample {
  std::string a, b;
  int grade = 0;       // 0..4: the share of anchor words kept, g/4
  double label = 0;    // word Jaccard similarity of a and b
};
double word_jaccard(const std::string& a, const std::string& b);
std::vector<PairExample> pair_examples(const std::vector<std::string>& lines, uint64_t seed);

// Per-token auxiliary label of lm_aux: 1 when the token's text starts with a vowel.
bool is_vowel_token(const std::string& token_text);

// Lines as ids [B,T] (truncated to T, padded with id 0) and the float mask [B,T] of real
// characters (lines shorter than 1 character are refused).
struct EncodedLines {
  Tensor ids;   // [B,T] int32
  Tensor mask;  // [B,T] float32, 1 on a line's characters
};
EncodedLines encode_lines(const Tokenizer& tok, const std::vector<std::string>& lines, int64_t T);

// ---- model ----
class TaskModel : public nn::Module {
 public:
  // n_out > 0 adds a Linear(C, n_out) head.
  TaskModel(const nn::GPTConfig& config, int64_t n_out, Rng& rng);
  Tensor hidden(const Tensor& ids, Rng& dropout_rng);                      // [B,T] -> [B,T,C]
  Tensor pooled(const Tensor& ids, const Tensor& mask, Rng& dropout_rng);  // -> [B,C]
  nn::GPT trunk;
  std::unique_ptr<nn::Linear> head;  // weight [n_out, C]
};

// ---- running ----
struct TaskOptions {
  std::string task = "multilabel";  // multilabel | pairs | lm_aux
  std::string loss;                 // "" = the task's default (zlpr, cosent)
  std::string weighting = "fixed";  // lm_aux
  std::string labels = "groups";    // multilabel: groups (K = 8) | rare_words (K = 64)
  std::string aux = "vowel";        // lm_aux: vowel (classification) | line_end (regression)
  double rdrop_alpha = 1.0;         // rdrop: weight of D(s, t)
  double aux_weight = 1.0;          // lm_aux, weighting = fixed: L_lm + aux_weight L_aux
  int64_t eval_examples = 512;      // multilabel / pairs: evaluate on the first N held-out ones
};
std::vector<std::string> task_names();
std::vector<std::string> task_losses(const std::string& task);  // the first is the default
std::vector<std::string> task_weightings();

// The options parsed once, every choice a typed value (the run compares no option strings).
enum class TaskType { MultiLabel, Pairs, LmAux };
enum class TaskLoss { Zlpr, SoftZlpr, RDrop, Bce, BceWeighted, Cosent, Ce };
enum class TaskWeighting { Fixed, Realtime, Uncertainty, GradNorm, Mgda, MainAux };
enum class TaskLabels { Groups, RareWords };
enum class TaskAux { Vowel, LineEnd };
struct TaskSetup {
  TaskType task;
  TaskLoss loss;
  TaskWeighting weighting;
  TaskLabels labels;
  TaskAux aux;
  TaskOptions names;  // the options as given, with the task's default loss filled in (for logs)
};
// Checks the options against each other and the config and parses them; throws tlm::Error
// naming the option and its allowed values.
TaskSetup parse_task_options(const TaskOptions& options, const TrainConfig& cfg);
void validate_task_options(const TaskOptions& options, const TrainConfig& cfg);  // parse, drop

// Trains for cfg.max_iters steps (cfg's optimizer, schedule, batch size, seed, model keys),
// evaluates on the held-out split every eval_interval steps and at the end, appends one JSON
// record per evaluation to out_dir/task_log.jsonl and returns the last one.
nlohmann::json run_task(const TrainConfig& cfg, const TaskOptions& options, std::FILE* progress);

}  // namespace tlm::train
