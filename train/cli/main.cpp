// tlm: the command line.
//
//   tlm train    [--config run.json] [--set key=value ...] [--resume] [--sample N]
//   mpirun -np N tlm train ...   (data-parallel over N ranks; docs/distributed.md)
//   tlm eval     --ckpt out/ckpt.bin [--data file.txt] [--block_size N] [--json] [--metrics]
//   tlm sample   --ckpt out/ckpt.bin [--prompt TEXT] [--length N] [--temperature T] [--top_k K]
//                [--top_p P] [--seed S]
//   tlm tune     --ckpt out/ckpt.bin --method lst|lora|full [--data new.txt] [--set key=value ...]
//   tlm info     [--ckpt out/ckpt.bin | --config run.json --set ...]
//   tlm rope-bound --context L --head_size h   (the lower bound on the RoPE base, METHODS §3)
//   tlm tokenize --data file.txt --vocab_size N --out tokenizer.json
//   tlm import   --hf DIR --out FILE     (a Hugging Face GPT-2 -> a tlm checkpoint; hf_cli.h)
//   tlm export   --ckpt FILE --hf DIR    (the inverse)
//   tlm encode   --ckpt FILE --data FILE (token ids, one JSON array line)
//   tlm task     --task multilabel|pairs|lm_aux [--loss L] [--weighting W] [--set key=value ...]
//
// Progress and banners go to stderr; stdout carries results (one JSON line for `train`,
// `eval --json`, `info`; the text for `sample`), so scripts can read it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nn/loss/cross_entropy.h"
#include "nn/rope_bound.h"
#include "optim/registry.h"
#include "train/sys/blas_select.h"
#include "tensor/kernels/parallel.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/cli/diag_cli.h"
#include "train/cli/hf_cli.h"
#include "train/dist/distributed.h"
#include "train/run/rank_dump.h"
#include "train/diag/metrics.h"
#include "train/sys/sysinfo.h"
#include "train/tasks/tasks.h"
#include "train/run/trainer.h"
#include "train/tune/tune.h"

namespace {

using namespace tlm;
using namespace tlm::train;

TrainConfig resolve_config(const std::string& file, const std::vector<std::string>& sets) {
  TrainConfig cfg = file.empty() ? TrainConfig() : TrainConfig::from_file(file);
  cfg.apply_overrides(sets);
  return cfg;
}

// `tlm train` and `tlm tune` (a config with tune_method set): the same Trainer run, on every
// rank of an mpirun job (a world of one otherwise).
int train_ranks(const TrainConfig& cfg, bool resume, int64_t sample_chars, bool profile,
                const std::string& rank_dump, Distributed& world) {
  if (resume && !std::filesystem::exists(std::filesystem::path(cfg.out_dir) / "ckpt.bin"))
    TLM_FAIL("train --resume: no checkpoint at {}/ckpt.bin", cfg.out_dir);
  Trainer trainer(cfg, resume, &world);
  trainer.set_profile(profile);
  if (!world.is_root()) {  // the other ranks train silently; rank 0 reports for all
    TrainSummary s = trainer.run(nullptr);
    if (!rank_dump.empty()) write_rank_state(rank_dump, trainer, world);
    return s.interrupted ? 130 : 0;
  }
  if (world.active())
    fmt::print(stderr, "distributed: {} ranks ({} on this host), {} thread{} per rank, global batch "
               "{} x {} = {} sequences\n", world.size(), world.local_size(), trainer.threads(),
               trainer.threads() == 1 ? "" : "s", world.size(), cfg.batch_size,
               world.size() * cfg.batch_size);
  const auto& model = trainer.model();
  fmt::print(stderr, "tlm train: {} on {} ({} train / {} val tokens, {} tokenizer, vocab {})\n",
             cfg.optimizer, cfg.data.empty() ? "the built-in fortunes corpus" : cfg.data,
             trainer.dataset().size(Split::Train), trainer.dataset().size(Split::Val),
             cfg.tokenizer, trainer.tokenizer().vocab_size());
  fmt::print(stderr, "config: {}\n", cfg.to_json().dump());
  fmt::print(stderr, "model: {} parameters ({} without position embeddings), {:.3f} MFLOP/token\n",
             model.num_parameters(), model.num_non_embedding_parameters(),
             model.flops_per_token() / 1e6);
  fmt::print(stderr, "optimizer: {}, {} state buffer(s) per parameter ({}), {} bytes of state\n",
             trainer.optimizer().name(), trainer.optimizer().buffers_per_parameter(),
             fmt::join(trainer.optimizer().buffer_names(), ", "), trainer.optimizer().state_bytes());
  fmt::print(stderr, "blas: {}\n", blas_description());
  if (cfg.tune_method != "none") {
    int64_t trained = 0;
    for (auto& [name, p] : trained_parameters(trainer.model(), trainer.side())) trained += p.numel();
    fmt::print(stderr, "tune: {} on backbone {}: {} trained parameters{}\n", cfg.tune_method,
               cfg.backbone, trained,
               trainer.side() ? fmt::format(" (side network width {})", trainer.side()->width()) : "");
  }
  if (resume) fmt::print(stderr, "resuming from step {} ({})\n", trainer.step(), trainer.checkpoint_path());
  TrainSummary s = trainer.run(stderr);
  if (!rank_dump.empty()) write_rank_state(rank_dump, trainer, world);
  fmt::print(stderr, "done: {} steps, train loss {:.4f}, val loss {:.4f}, {:.0f} tokens/s, "
             "checkpoint {}\n", s.iters, s.train_loss, s.val_loss, s.tokens_per_s,
             trainer.checkpoint_path());
  if (sample_chars > 0 && !s.interrupted) {
    Rng rng(static_cast<uint64_t>(cfg.seed));
    Tensor prompt = Tensor::from_vector(std::vector<int32_t>{trainer.tokenizer().encode("\n").front()}, {1, 1});
    Tensor out = trainer.side() ? trainer.side()->generate(prompt, sample_chars, 0.8, 0, 1.0, rng)
                                : trainer.model().generate(prompt, sample_chars, 0.8, 0, 1.0, rng);
    fmt::print(stderr, "\n---- sample ----\n{}\n----------------\n",
               trainer.tokenizer().decode(out.to_vector<int32_t>()));
  }
  fmt::print("{}\n", s.to_json().dump());
  return s.interrupted ? 130 : 0;
}

// Under mpirun, an error that only this rank met must stop every rank (MPI_Abort): the others
// may be waiting in an all-reduce. Errors every rank raised together end normally.
int run_training(const TrainConfig& cfg, bool resume, int64_t sample_chars, bool profile,
                 const std::string& rank_dump) {
  std::unique_ptr<Distributed> world = Distributed::from_launcher();
  try {
    return train_ranks(cfg, resume, sample_chars, profile, rank_dump, *world);
  } catch (const std::exception& e) {
    if (!world->active()) throw;
    if (world->collective_error()) {
      if (world->is_root()) fmt::print(stderr, "tlm: error: {}\n", e.what());
      return 1;
    }
    fmt::print(stderr, "tlm: error on rank {} of {}: {}; stopping every rank\n", world->rank(),
               world->size(), e.what());
    std::fflush(stderr);
    world->abort(1);
  }
}

// A built-in task (train/data/probes.h) at context T: fresh batches, loss and token accuracy over
// the scored targets.
uint64_t stream_seed_for_eval(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull + 7;
}

int eval_task(LoadedModel& m, int64_t T, int64_t batch_size, int64_t max_tokens, bool json) {
  SyntheticTask task(m.config.data, m.config.block_size);
  NoGradGuard no_grad;
  Rng rng(stream_seed_for_eval(m.config.seed));
  const int64_t rows = std::clamp<int64_t>(max_tokens / T, 1, 256);
  double nll = 0;
  TokenAccuracy acc;
  for (int64_t r0 = 0; r0 < rows; r0 += batch_size) {
    const int64_t B = std::min(batch_size, rows - r0);
    Batch b = task.sample_batch(B, T, rng);
    Tensor logits = m.forward(b.x, rng);
    nll += sum(nn::cross_entropy_per_item(reshape(logits, {B * T, -1}), reshape(b.y, {-1}))).item();
    TokenAccuracy a = token_accuracy(logits, b.y);
    acc.correct += a.correct;
    acc.count += a.count;
  }
  const double loss = acc.count > 0 ? nll / static_cast<double>(acc.count) : NAN;
  const double accuracy = acc.count > 0 ? static_cast<double>(acc.correct) / static_cast<double>(acc.count) : NAN;
  nlohmann::json r = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"accuracy", accuracy},
                      {"tokens", acc.count}, {"block_size", T}, {"source", m.config.data},
                      {"step", m.step}};
  if (json) fmt::print("{}\n", r.dump());
  else fmt::print("{}: loss {:.4f}, token accuracy {:.4f} over {} scored tokens (context {})\n",
                  m.config.data, loss, accuracy, acc.count, T);
  return 0;
}

int cmd_rope_bound(int64_t context, int64_t head_size) {
  const double b = nn::rope_base_lower_bound(context, head_size);
  fmt::print("{}\n", nlohmann::json{{"context", context}, {"head_size", head_size},
                                    {"rope_base_lower_bound", b}}.dump());
  return 0;
}

int cmd_eval(const std::string& ckpt, const std::string& data, int64_t block_size,
             int64_t batch_size, int64_t max_tokens, bool json, bool metrics) {
  LoadedModel m = load_model(ckpt);
  kernels::set_num_threads(static_cast<int>(m.config.threads));
  const int64_t T = block_size > 0 ? block_size : m.config.block_size;
  TLM_CHECK(T <= m.config.block_size || m.config.pos != "learned",
            "eval: block_size {} is longer than the {} learned positions the model has; only "
            "pos = rope or none can run longer contexts", T, m.config.block_size);
  if (is_synthetic_data(m.config.data) && data.empty()) return eval_task(m, T, batch_size, max_tokens, json);
  // The text: a file, or the validation split of the training data.
  std::vector<int32_t> tokens;
  std::string source;
  if (!data.empty()) {
    std::string text = read_text_file(data);
    if (m.config.unseen_chars == "replace") text = encodable_text(text, *m.tokenizer, m.config, data);
    tokens = m.tokenizer->encode(text);
    source = data;
  } else {
    std::string text = training_text(m.config);
    if (m.config.unseen_chars == "replace") text = encodable_text(text, *m.tokenizer, m.config, "its data");
    Dataset d(text, *m.tokenizer, 1.0 - m.config.val_fraction, m.config.data);
    tokens = d.tokens(Split::Val);
    source = (m.config.data.empty() ? std::string("fortunes") : m.config.data) + " (val split)";
  }
  TLM_CHECK(static_cast<int64_t>(tokens.size()) > T, "eval: {} has {} tokens, fewer than "
            "block_size + 1 = {}", source, tokens.size(), T + 1);
  // Non-overlapping windows from the start, every token predicted once with up to T of context.
  NoGradGuard no_grad;
  Rng rng(0);
  double nll = 0;
  int64_t count = 0;
  TokenMetrics tm(15);  // --metrics: top-1 accuracy and ECE (15 bins)
  const int64_t windows = std::min<int64_t>((static_cast<int64_t>(tokens.size()) - 1) / T,
                                            std::max<int64_t>(1, max_tokens / T));
  for (int64_t w0 = 0; w0 < windows; w0 += batch_size) {
    const int64_t B = std::min(batch_size, windows - w0);
    std::vector<int32_t> x(B * T), y(B * T);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        x[b * T + t] = tokens[(w0 + b) * T + t];
        y[b * T + t] = tokens[(w0 + b) * T + t + 1];
      }
    Tensor logits = m.forward(Tensor::from_vector(x, {B, T}), rng);
    Tensor logp = log_softmax(reshape(logits, {B * T, -1}), -1);
    Tensor picked = gather(logp, 1, Tensor::from_vector(y, {B * T, 1}));
    nll -= sum(picked).item();
    if (metrics) tm.add(logp, Tensor::from_vector(y, {B * T}));
    count += B * T;
  }
  const double loss = nll / static_cast<double>(count);
  nlohmann::json r = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", count},
                      {"block_size", T}, {"source", source}, {"step", m.step}};
  if (metrics) r["accuracy"] = tm.accuracy(), r["ece"] = tm.ece(), r["ece_bins"] = 15;
  if (json) fmt::print("{}\n", r.dump());
  else fmt::print("{}: loss {:.4f}, perplexity {:.3f} over {} tokens (context {}){}\n", source, loss,
                  std::exp(loss), count, T,
                  metrics ? fmt::format(", accuracy {:.4f}, ECE {:.4f}", tm.accuracy(), tm.ece())
                          : std::string());
  return 0;
}

int cmd_sample(const std::string& ckpt, const std::string& prompt, int64_t length,
               double temperature, int64_t top_k, double top_p, int64_t seed) {
  LoadedModel m = load_model(ckpt);
  kernels::set_num_threads(static_cast<int>(m.config.threads));
  std::vector<int32_t> ids = m.tokenizer->encode(prompt.empty() ? "\n" : prompt);
  Rng rng(static_cast<uint64_t>(seed));
  const int64_t n = static_cast<int64_t>(ids.size());
  Tensor out = m.generate(Tensor::from_vector(ids, {1, n}), length, temperature, top_k, top_p, rng);
  fmt::print("{}\n", m.tokenizer->decode(out.to_vector<int32_t>()));
  return 0;
}

int cmd_info(const std::string& ckpt, const std::string& config_file,
             const std::vector<std::string>& sets, int64_t vocab_size) {
  TrainConfig cfg;
  int64_t vocab = vocab_size;
  nlohmann::json tuned;
  std::unique_ptr<nn::GPT> model;
  if (!ckpt.empty()) {
    LoadedModel m = load_model(ckpt);
    cfg = m.config;
    vocab = m.tokenizer->vocab_size();
    if (cfg.tune_method != "none") {  // a tuned checkpoint: what was trained, on which backbone
      int64_t trained = 0;
      for (auto& [name, p] : trained_parameters(*m.model, m.side.get())) trained += p.numel();
      tuned = {{"tune_method", cfg.tune_method}, {"backbone", cfg.backbone},
               {"trainable_params", trained},
               {"side_params", m.side ? m.side->num_parameters() : 0}};
    }
    model = std::move(m.model);
  } else {
    cfg = resolve_config(config_file, sets);
    Rng rng(0);
    model = std::make_unique<nn::GPT>(gpt_config(cfg, vocab), rng);
  }
  auto groups = optim::default_param_groups(model->named_parameters(), cfg.weight_decay);
  auto opt = optim::make_optimizer(cfg.optimizer, groups,
                                   {.lr = cfg.learning_rate, .beta1 = cfg.beta1, .beta2 = cfg.beta2,
                                    .eps = cfg.eps, .momentum = cfg.momentum, .nesterov = false});
  nlohmann::json r = {{"params", model->num_parameters()},
                      {"params_non_embedding", model->num_non_embedding_parameters()},
                      {"vocab_size", vocab},
                      {"flops_per_token", model->flops_per_token()},
                      {"param_bytes", model->num_parameters() * 4},
                      {"optimizer", cfg.optimizer},
                      {"optimizer_state_bytes", opt->state_bytes()},
                      {"optimizer_buffers_per_param", opt->buffers_per_parameter()},
                      {"optimizer_params", opt->num_parameters()},
                      {"blas", blas_description()},
                      {"blas_kernel", blas_kernel()},
                      {"threads", kernels::num_threads()},
                      {"mpi", mpi_built()}};
  if (!tuned.is_null()) r.update(tuned);
  if (cfg.pos == "rope" && cfg.block_size <= 16384) {  // the scan grows with L; keep info quick
    const int64_t head = cfg.block == "gau" ? cfg.gau_attn_size : cfg.n_embd / cfg.n_head;
    r["rope_base"] = cfg.rope_base;
    r["rope_base_lower_bound"] = nn::rope_base_lower_bound(cfg.block_size, head);
  }
  fmt::print("{}\n", r.dump());
  return 0;
}

int cmd_tokenize(const std::string& data, const std::string& type, int64_t vocab_size,
                 const std::string& out) {
  std::string text = read_text_file(data);
  TokenizerOptions options;
  options.bpe_vocab_size = static_cast<int32_t>(vocab_size);
  auto tok = make_tokenizer(type, text, options);
  tok->save(out);
  auto ids = tok->encode(text);
  TLM_CHECK(tok->decode(ids) == text, "tokenize: {} does not round-trip (a bug)", data);
  fmt::print("{}\n", nlohmann::json{{"type", type}, {"vocab_size", tok->vocab_size()},
                                    {"bytes", text.size()}, {"tokens", ids.size()},
                                    {"bytes_per_token", double(text.size()) / double(ids.size())},
                                    {"out", out}}.dump());
  return 0;
}

int cmd_task(const std::string& config_file, const std::vector<std::string>& sets,
             const TaskOptions& options) {
  TrainConfig cfg = resolve_config(config_file, sets);
  nlohmann::json r = run_task(cfg, options, stderr);
  fmt::print("{}\n", r.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any BLAS work: a generic OpenBLAS fallback kernel is replaced by one that
  // matches the CPU (re-executing this program); see train/sys/blas_select.h.
  std::string blas_note;
  tlm::train::ensure_blas_kernel(argv, &blas_note);
  // "blas note:", not "blas:": the training banner's "blas:" line marks the end of start-up.
  if (!blas_note.empty()) fmt::print(stderr, "blas note: {}\n", blas_note);

  CLI::App app{"tlm: train Transformer language models on a CPU"};
  app.require_subcommand(1);

  std::string config_file, ckpt, data, prompt, out, tok_type = "bpe";
  std::vector<std::string> sets;
  bool resume = false, json = false;
  int64_t sample_chars = 0, block_size = 0, batch_size = 8, max_tokens = 1 << 20, length = 500,
          top_k = 0, seed = 1337, vocab_size = 512, info_vocab = 65;
  double temperature = 0.8, top_p = 1.0;

  auto* train = app.add_subcommand("train", "train a model (config keys: `tlm train --keys`)");
  train->add_option("--config", config_file, "JSON config file (keys as in --keys)");
  train->add_option("--set", sets, "override a config key: --set n_layer=6 (repeatable)");
  train->add_flag("--resume", resume, "continue from out_dir/ckpt.bin");
  train->add_option("--sample", sample_chars, "print a sample of N tokens at the end");
  bool show_keys = false, profile = false;
  train->add_flag("--profile", profile, "print the share of step time per kind of kernel");
  train->add_flag("--keys", show_keys, "list every config key, its default and allowed values");
  std::string rank_dump;
  train->add_option("--rank_dump", rank_dump, "write each rank's final weights and gradients to "
                    "DIR/rank<r>.json (checks of mpirun runs)");

  std::string tune_method;
  auto* tune = app.add_subcommand("tune", "fine-tune a tlm train checkpoint on a new text: Ladder "
                                          "Side-Tuning, LoRA or all weights (docs/tuning.md)");
  tune->add_option("--ckpt", ckpt, "the pretrained checkpoint (backbone)")->required();
  tune->add_option("--method", tune_method, "lst | lora | full")->required();
  tune->add_option("--data", data, "text to tune on (default: the built-in fortunes corpus)");
  tune->add_option("--set", sets, "override a config key: --set max_iters=300 (repeatable)");
  tune->add_flag("--resume", resume, "continue from out_dir/ckpt.bin");
  tune->add_option("--sample", sample_chars, "print a sample of N tokens at the end");

  auto* eval = app.add_subcommand("eval", "loss and perplexity of a checkpoint on a text");
  eval->add_option("--ckpt", ckpt, "checkpoint")->required();
  eval->add_option("--data", data, "text file (default: the validation split of its training data)");
  eval->add_option("--block_size", block_size, "context length (default: the training one)");
  eval->add_option("--batch_size", batch_size, "windows per forward pass");
  eval->add_option("--max_tokens", max_tokens, "evaluate at most this many tokens");
  eval->add_flag("--json", json, "print one JSON line");
  bool eval_metrics = false;
  eval->add_flag("--metrics", eval_metrics, "also top-1 accuracy and expected calibration error");

  auto* sample = app.add_subcommand("sample", "generate text from a checkpoint");
  sample->add_option("--ckpt", ckpt, "checkpoint")->required();
  sample->add_option("--prompt", prompt, "text to continue (default: a newline)");
  sample->add_option("--length", length, "tokens to generate");
  sample->add_option("--temperature", temperature, "softmax temperature (0: greedy)");
  sample->add_option("--top_k", top_k, "keep the k most likely tokens (0: all)");
  sample->add_option("--top_p", top_p, "nucleus sampling mass (1: all)");
  sample->add_option("--seed", seed, "random seed");

  auto* info = app.add_subcommand("info", "parameters, FLOPs per token, optimizer memory, BLAS");
  info->add_option("--ckpt", ckpt, "a checkpoint");
  info->add_option("--config", config_file, "or a config file");
  info->add_option("--set", sets, "config overrides");
  info->add_option("--vocab_size", info_vocab, "vocabulary size for a config (default 65)");

  int64_t rb_context = 1024, rb_head = 64;
  auto* rope_bound = app.add_subcommand("rope-bound", "lower bound on the RoPE base for a context "
                                        "length and head size (METHODS.md section 3)");
  rope_bound->add_option("--context", rb_context, "context length L");
  rope_bound->add_option("--head_size", rb_head, "head size h (even)");

  auto* tokenize = app.add_subcommand("tokenize", "train a tokenizer on a text and save it");
  tokenize->add_option("--data", data, "text file")->required();
  tokenize->add_option("--type", tok_type, "bpe | char");
  tokenize->add_option("--vocab_size", vocab_size, "BPE vocabulary size (256 bytes + merges)");
  tokenize->add_option("--out", out, "output file")->required();

  DiagCommand diag(app);  // tlm diag cost|grads|entropy|unargmax (train/cli/diag_cli.cpp)
  HfCommands hf(app);     // tlm import|export|encode (train/cli/hf_cli.cpp)

  TaskOptions task_opt;
  auto* task = app.add_subcommand("task", "train a small classifier: multi-label lines, sentence "
                                          "pairs, or LM + auxiliary task (train/tasks/tasks.h)");
  task->add_option("--task", task_opt.task, "multilabel | pairs | lm_aux");
  task->add_option("--loss", task_opt.loss, "multilabel: zlpr | soft_zlpr | rdrop | bce; pairs: cosent");
  task->add_option("--weighting", task_opt.weighting,
                   "lm_aux: fixed | realtime | uncertainty | gradnorm | mgda | main_aux");
  task->add_option("--rdrop_alpha", task_opt.rdrop_alpha, "rdrop: weight of the sigmoid KL");
  task->add_option("--aux_weight", task_opt.aux_weight, "lm_aux, fixed: weight of the aux loss");
  task->add_option("--eval_examples", task_opt.eval_examples, "held-out examples evaluated (multilabel, pairs)");
  task->add_option("--config", config_file, "JSON config (model, optimizer and loop keys)");
  task->add_option("--set", sets, "override a config key (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*train) {
      if (show_keys) {
        fmt::print("{}", config_reference_markdown());
        return 0;
      }
      return run_training(resolve_config(config_file, sets), resume, sample_chars, profile, rank_dump);
    }
    if (*tune) return run_training(tune_config(ckpt, tune_method, data, sets), resume, sample_chars, false, "");
    if (*eval) return cmd_eval(ckpt, data, block_size, batch_size, max_tokens, json, eval_metrics);
    if (*task) return cmd_task(config_file, sets, task_opt);
    if (*sample) return cmd_sample(ckpt, prompt, length, temperature, top_k, top_p, seed);
    if (*info) return cmd_info(ckpt, config_file, sets, info_vocab);
    if (*rope_bound) return cmd_rope_bound(rb_context, rb_head);
    if (*tokenize) return cmd_tokenize(data, tok_type, vocab_size, out);
    if (diag.parsed()) return diag.run();
    if (hf.parsed()) return hf.run();
  } catch (const tlm::Error& e) {
    fmt::print(stderr, "tlm: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tlm: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
