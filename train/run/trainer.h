// Trainer: one language-model training run, as `tlm train` performs it.
//
//   TrainConfig cfg;                         // nanoGPT keys, validated
//   cfg.apply_overrides({"data=input.txt", "max_iters=2000"});
//   Trainer trainer(cfg, /*resume=*/false);  // data, tokenizer, model, optimizer
//   TrainSummary s = trainer.run(stderr);    // loop, evaluations, checkpoints, JSONL log
//   fmt::print("{}\n", s.to_json().dump());
//
// Each step (TrainStep, train/run/train_step.h, shared with `tlm diag grads` and `tlm task`):
// lr from the schedule; for each micro-batch, forward, loss / accumulation steps, backward
// (gradients accumulate); the gradient pipeline (train/run/grad_pipeline.h: all-reduce, fp16
// unscale or skip, finite check, clip); optimizer step. Random streams: train/run/seeds.h.
// Every `eval_interval` steps (and at the end) the mean loss over `eval_iters` batches of
// each split is measured with an RNG of its own (seeded by seed and step), so evaluating
// never changes which batches training sees: 20 straight steps and 10 + resume + 10 give
// bit-identical weights.
//
// The training loss is cfg.loss through nn::lm_loss (ce, label_smoothing, focal, tailr, emo;
// options from the loss keys, lm_loss_options); evaluation always reports plain
// cross-entropy, so runs with different losses are comparable. A loss whose registry entry
// says needs_cost_embedding (emo) takes its cost embedding from a frozen copy of the LM head
// (= wte when tied) made when the run with that loss starts (step 0, or the resume that
// switched a checkpoint to emo: Su's "fine-tune an MLE model"); it is saved in the checkpoint
// (tensor "emo.cost_embedding") so a resume is exact.
//
// A NaN or inf loss or gradient norm is never trained through: nan_policy = stop throws an
// error naming the step (the last checkpoint stays intact); skip drops the step's update
// (step still advances), logs a {"kind": "skip"} record and counts it (skipped_steps).
//
// precision = bf16 | fp16 runs forward, evaluation and backward under a PrecisionGuard (the
// loss itself under an fp32 one); fp16 multiplies the loss by the loss scale before backward,
// skips a step whose gradients overflow (inf/NaN: logged as {"kind": "skip"}, counted in
// scaler_skipped_steps), and unscales the gradients before clipping. Step records then carry
// loss_scale, scaler_skipped, grad_underflow (fraction of non-zero gradient entries that the
// rounding in backward flushed to zero) and overflow (values rounded to inf).
// Data-parallel (docs/distributed.md): given a Distributed world of N ranks, every rank draws the
// same global batch of N*B windows from the one seeded data Rng and trains on rows
// [rank*B, (rank+1)*B); the gradients are averaged over ranks (GradientBuckets) before the
// nan/inf check, clipping and the optimizer step, so every rank applies the same update and
// N ranks x B equal 1 rank x N*B (dropout aside: with N > 1 each rank draws its step's dropout
// masks from a rank-distinct stream seeded by the shared dropout Rng). Only rank 0 logs,
// evaluates and writes checkpoints; the checkpoint does not depend on N.
//
// Files in out_dir (train/launch/run_dir.h): ckpt.bin (model, optimizer, RNG states, step, config,
// tokenizer, the data file's absolute path, size and CRC-32, the last evaluation's losses and the
// best validation loss; written atomically at every evaluation step (every eval_interval steps),
// every ckpt_minutes of wall-clock time, every ckpt_interval steps, on Ctrl-C and at the end),
// ckpt_best.bin (ckpt_best = true: written when an evaluation reaches a new lowest validation
// loss) and log.jsonl (appended, never truncated; each record written through as it is made
// (train/run/run_log.h): a {"kind": "header"} record when run() starts: parameters and the
// optimizer's state memory, bytes and buffers per parameter; then one record per step, per
// evaluation and per checkpoint ({"kind": "checkpoint", "step", "reason"})).
// A relative `data` path is made absolute when the trainer is built; a resume checks that the
// data file is still there and unchanged (else an error naming it).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "nn/gpt.h"
#include "nn/loss/registry.h"
#include "nn/lst.h"
#include "autograd/precision.h"
#include "optim/loss_scaler.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/io/config.h"
#include "train/model/loaded_model.h"
#include "train/data/data.h"
#include "train/dist/distributed.h"
#include "train/dist/grad_buckets.h"
#include "train/data/probes.h"
#include "train/data/tokenizer.h"
#include "train/run/faults.h"
#include "train/run/grad_pipeline.h"

namespace tlm::train {

struct TrainSummary {
  int64_t iters = 0;           // steps completed (including those before a resume)
  double train_loss = NAN;     // last evaluation (mean over eval_iters batches)
  double val_loss = NAN;
  double tokens_per_s = 0;     // median over this run's steps (the first 5 skipped)
  double ms_per_iter = 0;      // median
  int64_t peak_bytes = 0;      // tensor allocator peak
  int64_t peak_rss_bytes = 0;  // process peak resident memory
  int64_t params = 0;
  int64_t trainable_params = 0;  // what the optimizer updates (all of params unless tuning)
  double initial_val_loss = NAN;  // tuning: the val loss before the first step (the backbone's
                                  // for full and lora, the pruned side network's for lst)
  bool interrupted = false;    // stopped by Ctrl-C (a checkpoint was written)
  nlohmann::json profile;      // share of step time per kernel kind (with --profile)
  int ranks = 1;               // data-parallel ranks; tokens_per_s counts all of them
  double allreduce_ms = 0;     // median time per step in the gradient all-reduce (ranks > 1)
  double wait_ms = 0;          // median time per step waiting for the slowest rank (ranks > 1)
  int64_t skipped_steps = 0;   // non-finite steps skipped under nan_policy = skip (whole run)
  int64_t optimizer_state_bytes = 0;        // Optimizer::state_bytes()
  int64_t optimizer_buffers_per_param = 0;  // AdamW 2, Lion 1, SGD with momentum 1
  int64_t activation_bytes = 0;  // max over steps: bytes held after forward + loss, before backward
  std::string precision_kernel = "fp32";  // what ran the products: fp32 | avx512_bf16 | emulated
  Precision precision = Precision::F32;  // fp16 only: the loss scaler at the end (whole run)
  double loss_scale = 1;
  int64_t scaler_skipped_steps = 0;
  nlohmann::json to_json() const;
};

struct EvalResult {
  double train_loss = NAN, val_loss = NAN;
};

// The selected loss's hyperparameters from a config (its registry keys; emo_embedding left unset).
nn::LossOptions lm_loss_options(const TrainConfig& cfg);

// gpt_config and LoadedModel: train/model/loaded_model.h. A checkpoint's model, fine-tuned
// (train/tune) or not.
LoadedModel load_model(const std::string& checkpoint_path);

// The text a config trains on: the file `data`, or the built-in corpus when it is empty.
std::string training_text(const TrainConfig& cfg);

class Trainer {
 public:
  // With resume, restores out_dir/ckpt.bin after checking that its model and tokenizer
  // settings equal cfg's (the loop settings, e.g. max_iters, may change).
  // `world` (optional, outlives the trainer): the ranks of a data-parallel run; null = one.
  Trainer(const TrainConfig& cfg, bool resume, Distributed* world = nullptr);

  TrainSummary run(std::FILE* progress_out);
  // With profiling on, run() times every kernel by kind (tensor/profile.h) over the training
  // steps and prints the share of step time per kind at the end; the JSON summary gets it too.
  void set_profile(bool on) { profile_ = on; }
  // Tests only: fault injection (train/run/faults.h); `faults` outlives the runs it affects.
  void set_faults(const Faults* faults) { faults_ = faults; }
  EvalResult evaluate(int64_t step);
  void save(const std::string& path) const;

  nn::GPT& model() { return *model_; }
  // tune_method = lst: the side network being trained (model() is then the frozen backbone).
  nn::LadderSide* side() { return side_.get(); }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const Dataset& dataset() const { return *data_; }
  const TrainConfig& config() const { return cfg_; }
  const optim::Optimizer& optimizer() const { return *optimizer_; }
  int64_t step() const { return step_; }
  double best_val_loss() const { return best_val_loss_; }  // lowest evaluated; NaN before any
  int threads() const { return threads_; }  // OpenMP/BLAS threads this process uses
  // loss = emo: the frozen cost embedding [V,C]; undefined for the other losses.
  const Tensor& emo_embedding() const { return loss_options_.emo_embedding; }
  std::string checkpoint_path() const;

 private:
  double train_step_();  // one optimizer step; returns the mean loss
  Batch batch_(Split split, Rng& rng) const;  // from the text, or from the synthetic task
  void restore_(const std::string& path);
  void init_tuning_(bool resume);  // tune_method != none: backbone, its tokenizer, the data
  Tensor forward_(const Tensor& ids, Rng& rng);  // logits, through side_ when there is one
  // tune_method = lst: the pruning importance of the backbone (empirical Fisher over
  // lst_fisher_samples train windows; empty = weight magnitude); sets lst_init_*.
  std::map<std::string, Tensor> lst_importance_();
  Batch train_batch_();  // this rank's rows of the step's global batch
  // Ranks > 1: every rank must have rank 0's config, data and initial weights (else throws).
  void check_ranks_agree_(uint64_t data_bytes, uint32_t data_crc);

  TrainConfig cfg_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Dataset> data_;
  nlohmann::json data_files_;  // data = a token directory: its files' bytes and crc32 (else null)
  std::unique_ptr<SyntheticTask> task_;  // data = probe:... | task:... (train/data/probes.h)
  std::unique_ptr<nn::GPT> model_;
  std::unique_ptr<nn::LadderSide> side_;  // tune_method = lst (model_ is the frozen backbone)
  nlohmann::json backbone_ref_;           // tuning: BackboneRef of cfg_.backbone (train/tune/tune.h)
  nlohmann::json lst_init_;               // fresh lst run: how the side was pruned (logged by run)
  std::string lst_init_message_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  const nn::LossType* loss_type_;  // the registry entry of cfg.loss
  nn::LossOptions loss_options_;  // from the loss keys; emo_embedding [V,C] if the loss needs it
  Rng data_rng_, dropout_rng_;
  int64_t step_ = 0;
  double last_grad_norm_ = 0;
  bool profile_ = false;
  int64_t skipped_steps_ = 0;  // nan_policy = skip: steps without an update (kept in checkpoints)
  // Kept in checkpoints (tlm info --ckpt shows them): the last evaluation and its step, the
  // lowest validation loss so far, and the data file's fingerprint (train/launch/run_dir.h).
  EvalResult last_eval_;
  int64_t last_eval_step_ = -1;
  double best_val_loss_ = NAN;
  nlohmann::json data_fingerprint_;
  // Mixed precision (train/run/mixed_precision.h; docs/methods.md, "bf16 and fp16"): the policy
  // of every forward and backward, the fp16 loss scaler (null unless precision = fp16; kept in
  // checkpoints) and what the last step's rounding did.
  Precision precision_ = Precision::F32;
  std::unique_ptr<optim::LossScaler> scaler_;
  PrecisionStats precision_stats_;
  bool scaler_skip_ = false;  // the last step was skipped by the loss scaler
  int64_t activation_bytes_ = 0;  // this run's max of TrainSummary::activation_bytes
  std::string skip_reason_;    // why the last step was skipped; empty when it was not
  std::unique_ptr<Distributed> solo_;  // the world of one when none is given
  Distributed* world_ = nullptr;
  std::unique_ptr<GradientBuckets> buckets_;  // ranks > 1
  std::unique_ptr<GradientPipeline> pipeline_;  // all-reduce, unscale or skip, finite check, clip
  const Faults* faults_ = nullptr;             // tests only
  int threads_ = 0;
  double last_allreduce_ms_ = 0, last_wait_ms_ = 0;
  const class InterruptGuard* interrupt_ = nullptr;  // run()'s, read by each step (ranks > 1)
  bool stop_all_ = false;         // ranks > 1: some rank saw Ctrl-C by the last step
};

}  // namespace tlm::train
