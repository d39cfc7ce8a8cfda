// tlm: the command line.
//
//   tlm train    [--config run.json] [--set key=value ...] [--resume | --overwrite] [--sample N]
//   mpirun -np N tlm train ...   (data-parallel over N ranks; docs/distributed.md)
//   tlm eval     --ckpt out/ckpt.bin [--data file.txt] [--block_size N] [--json] [--metrics]
//   tlm sample   --ckpt out/ckpt.bin [--prompt TEXT | --prompt_file FILE] [--length N]
//                [--temperature T] [--top_k K] [--top_p P] [--seed S] [--num_samples N]
//   tlm tune     --ckpt out/ckpt.bin --method lst|lora|full [--data new.txt] [--set key=value ...]
//   tlm info     [--ckpt out/ckpt.bin [--json] | --config run.json --set ...]
//   tlm rope-bound --context L --head_size h   (docs/methods.md, "RoPE base bound")
//   tlm tokenize --data file.txt --vocab_size N --out tokenizer.json
//   tlm prepare  --data PATH [PATH...] --tokenizer char|bpe|gpt2 [--bpe_vocab_size N] [--tokenizer_dir DIR] --out DIR
//                [--threads N] [--val_fraction F]   (then tlm train --set data=DIR)
//   tlm import   --hf DIR --out FILE     (a Hugging Face GPT-2 -> a tlm checkpoint; hf_cli.h)
//   tlm export   --ckpt FILE --hf DIR    (the inverse)
//   tlm encode   --ckpt FILE --data FILE (token ids, one JSON array line)
//   tlm task     --task multilabel|pairs|lm_aux [--loss L] [--weighting W] [--labels S] [--aux A] [--set key=value ...]
//
// Progress and banners go to stderr; stdout carries results (one JSON line for `train`,
// `eval --json`, `info`; the text for `sample`), so scripts can read it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "autograd/precision.h"
#include "nn/block_registry.h"
#include "nn/loss/cross_entropy.h"
#include "nn/rope_bound.h"
#include "optim/registry.h"
#include "train/sys/blas_select.h"
#include "tensor/kernels/parallel.h"
#include "train/io/checkpoint.h"
#include "train/run/checkpoint_info.h"
#include "train/io/config.h"
#include "train/io/model_config.h"
#include "train/cli/cli.h"
#include "train/sys/file_io.h"
#include "train/launch/memory_estimate.h"
#include "train/sys/memory_limit.h"
#include "train/cli/diag_cli.h"
#include "train/cli/prepare_cli.h"
#include "train/data/char_tokenizer.h"
#include "train/data/token_dir.h"
#include "train/cli/hf_cli.h"
#include "train/dist/distributed.h"
#include "train/launch/optimizer_setup.h"
#include "train/run/rank_dump.h"
#include "train/launch/resume_config.h"
#include "train/launch/run_dir.h"
#include "train/run/seeds.h"
#include "train/diag/metrics.h"
#include "train/sys/sysinfo.h"
#include "train/tasks/tasks.h"
#include "train/run/trainer.h"
#include "train/tune/tune.h"
#include "train/tune/tune_memory.h"

namespace {

using namespace tlm;
using namespace tlm::train;

TrainConfig resolve_config(const std::string& file, const std::vector<std::string>& sets) {
  TrainConfig cfg = file.empty() ? TrainConfig() : TrainConfig::from_file(file);
  cfg.apply_overrides(sets);
  return cfg;
}

// "n_layer=2 data=/abs/input.txt ... (other keys at their defaults; tlm train --keys)": the resolved
// config without the keys left at their defaults (tlm info --ckpt prints every key).
std::string non_default_keys(const TrainConfig& cfg) {
  const nlohmann::json mine = cfg.to_json(), defaults = TrainConfig().to_json();
  std::string out;
  for (const ConfigKey& k : config_keys()) {
    const nlohmann::json& v = mine.at(k.name);
    if (v == defaults.at(k.name)) continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", k.name, v.is_string() ? v.get<std::string>() : v.dump());
  }
  if (out.empty()) return "every key at its default (tlm train --keys)";
  return out + " (other keys at their defaults: tlm train --keys)";
}

// `tlm train --resume`: the config comes from out_dir/ckpt.bin; the config file's keys and --set
// may change only what a resume may change (train/launch/resume_config.h).
TrainConfig resume_train_config(const std::string& file, const std::vector<std::string>& sets) {
  nlohmann::json file_keys;
  if (!file.empty()) {
    try {
      file_keys = nlohmann::json::parse(read_file(file, "config"), nullptr, true, true);
    } catch (const nlohmann::json::exception& e) {
      TLM_FAIL("config: '{}' is not valid JSON: {}", file, e.what());
    }
  }
  TrainConfig where;  // out_dir: the one the user names, else the default
  if (file_keys.is_object() && file_keys.contains("out_dir") && file_keys.at("out_dir").is_string())
    where.set("out_dir", file_keys.at("out_dir").get<std::string>());
  for (const std::string& a : sets)
    if (a.rfind("out_dir=", 0) == 0) where.set("out_dir", a.substr(8));
  prepare_out_dir(where.out_dir, RunStart::Resume, "train");
  const std::string ckpt = (std::filesystem::path(where.out_dir) / "ckpt.bin").string();
  Checkpoint ck;
  ck.meta = load_checkpoint_meta(ckpt);
  TLM_CHECK(ck.meta.contains("config"), "train --resume: {} holds no config; was it written by "
            "tlm train?", ckpt);
  TrainConfig cfg = resume_config(ck.meta.at("config"), file_keys, sets, ckpt);
  cfg.out_dir = where.out_dir;
  return cfg;
}

// The memory a run will need (train/launch/memory_estimate.h) against what is available, before
// anything is allocated: over the limit it refuses unless `force`. Returns the banner line.
// Tuning runs are estimated by method (train/tune/tune_memory.h) over the backbone's vocabulary.
std::string check_memory(const TrainConfig& cfg, bool resume, bool force) {
  int64_t vocab = 0, data_bytes = 0;  // data_bytes: a text held in memory (not a mapped directory)
  if (cfg.tune_method != TuneMethod::None) {
    // A tuned checkpoint holds its backbone's tokenizer; a fresh run reads the backbone's.
    const std::string source = resume ? (std::filesystem::path(cfg.out_dir) / "ckpt.bin").string() : cfg.backbone;
    const nlohmann::json meta = load_checkpoint_meta(source);
    TLM_CHECK(meta.contains("tokenizer"), "tune: {} holds no tokenizer", source);
    vocab = load_tokenizer(meta.at("tokenizer"))->vocab_size();
    std::error_code ec;
    if (!cfg.data.empty()) {
      const auto size = std::filesystem::file_size(cfg.data, ec);
      data_bytes = ec ? 0 : static_cast<int64_t>(size);
    }
  } else if (resume) {
    Checkpoint ck;
    ck.meta = load_checkpoint_meta((std::filesystem::path(cfg.out_dir) / "ckpt.bin").string());
    TLM_CHECK(ck.meta.contains("tokenizer"), "train --resume: {}/ckpt.bin holds no tokenizer", cfg.out_dir);
    vocab = load_tokenizer(ck.meta.at("tokenizer"))->vocab_size();
    std::error_code ec;
    if (!cfg.data.empty() && !is_synthetic_data(cfg.data) && !is_token_dir(cfg.data)) {
      const auto size = std::filesystem::file_size(cfg.data, ec);
      data_bytes = ec ? 0 : static_cast<int64_t>(size);
    }
  } else if (is_token_dir(cfg.data)) {
    // A prepared directory names its vocabulary in meta.json (opening it checks the rest); a
    // nanoGPT directory without one holds GPT-2 ids.
    const std::string meta = (std::filesystem::path(cfg.data) / "meta.json").string();
    vocab = 50257;
    if (std::filesystem::exists(meta)) {
      const nlohmann::json j = nlohmann::json::parse(read_file(meta, "data"), nullptr, false);
      TLM_CHECK(j.is_object() && j.contains("vocab_size") && j.at("vocab_size").is_number_integer(),
                "data: {} is not a meta.json of tlm prepare (no integer vocab_size)", meta);
      vocab = j.at("vocab_size").get<int64_t>();
    }
  } else {
    const std::string text = is_synthetic_data(cfg.data) ? std::string() : training_text(cfg);
    vocab = expected_vocab(cfg, text);
    data_bytes = static_cast<int64_t>(text.size());
  }
  const MemoryEstimate estimate = cfg.tune_method != TuneMethod::None ? estimate_tune_memory(cfg, vocab, data_bytes, resume)
                                                             : estimate_memory(cfg, vocab, data_bytes);
  const AvailableMemory available = available_memory();
  const std::string refusal = memory_refusal(estimate, available);
  TLM_CHECK(refusal.empty() || force, "{}{}", refusal, cfg.tune_method == TuneMethod::None ? "" :
            " (tune: the backbone fixes n_layer and n_embd; --method lora or lst trains, and "
            "keeps gradients and optimizer state for, far fewer weights than full; "
            "lst_fisher_samples=0 skips lst's Fisher pass)");
  return fmt::format("memory: about {} estimated{}{}", estimate.str(),
                     available.bytes >= 0 ? fmt::format(", {} available", format_bytes(available.bytes)) : "",
                     refusal.empty() ? "" : " (over the limit: --force)");
}

// `tlm train` and `tlm tune` (a config with tune_method set): the same Trainer run, on every
// rank of an mpirun job (a world of one otherwise).
int train_ranks(const TrainConfig& cfg, RunStart start, bool force, int64_t sample_chars, bool profile,
                const std::string& rank_dump, Distributed& world) {
  const bool resume = start == RunStart::Resume;
  // A directory holding a run is refused (or, with --overwrite, cleared by rank 0). Under
  // mpirun an error here may be one rank's alone: run_training stops every rank.
  if (world.is_root() || start != RunStart::Overwrite)
    prepare_out_dir(cfg.out_dir, start, cfg.tune_method != TuneMethod::None ? "tune" : "train");
  const std::string memory_line = check_memory(cfg, resume, force);
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
  const TrainConfig& run_cfg = trainer.config();  // the data path made absolute
  fmt::print(stderr, "tlm {}: {} on {} ({} train / {} val tokens, {} tokenizer, vocab {})\n",
             cfg.tune_method != TuneMethod::None ? "tune" : "train", cfg.optimizer, run_cfg.data.empty() ? "the built-in fortunes corpus" : run_cfg.data,
             trainer.dataset().size(Split::Train), trainer.dataset().size(Split::Val),
             run_cfg.tokenizer, trainer.tokenizer().vocab_size());
  fmt::print(stderr, "config: {}\n", non_default_keys(run_cfg));
  fmt::print(stderr, "model: {} parameters ({} without position embeddings), {:.3f} MFLOP/token\n",
             model.num_parameters(), model.num_non_embedding_parameters(),
             model.flops_per_token() / 1e6);
  fmt::print(stderr, "optimizer: {}, {} state buffer(s) per parameter ({}), {} bytes of state\n",
             trainer.optimizer().name(), trainer.optimizer().buffers_per_parameter(),
             fmt::join(trainer.optimizer().buffer_names(), ", "), trainer.optimizer().state_bytes());
  if (!memory_line.empty()) fmt::print(stderr, "{}\n", memory_line);
  fmt::print(stderr, "blas: {}\n", blas_description());
  if (cfg.precision != Precision::F32)
    fmt::print(stderr, "precision: {}\n", precision_description(cfg.precision));
  if (cfg.tune_method != TuneMethod::None) {
    int64_t trained = 0;
    for (auto& [name, p] : trained_parameters(trainer.model(), trainer.side())) trained += p.numel();
    fmt::print(stderr, "tune: {} on backbone {}: {} trained parameters{}\n", nn::name_of(cfg.tune_method),
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
    Rng rng(derive_seed(cfg.seed, Stream::Sample));  // train/run/seeds.h
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
int run_training(const TrainConfig& cfg, RunStart start, bool force, int64_t sample_chars,
                 bool profile, const std::string& rank_dump) {
  std::unique_ptr<Distributed> world = Distributed::from_launcher();
  try {
    return train_ranks(cfg, start, force, sample_chars, profile, rank_dump, *world);
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
int eval_task(LoadedModel& m, int64_t T, int64_t batch_size, int64_t max_tokens, bool json) {
  SyntheticTask task(m.config.data, m.config.block_size);
  NoGradGuard no_grad;
  Rng rng(derive_seed(m.config.seed, Stream::ProbeEval));  // train/run/seeds.h
  const int64_t rows = std::clamp<int64_t>(max_tokens / T, 1, 256);
  double nll = 0;
  TokenAccuracy acc;
  std::map<int64_t, TokenAccuracy> by_length;  // copy tasks: accuracy per copy length k
  for (int64_t r0 = 0; r0 < rows; r0 += batch_size) {
    const int64_t B = std::min(batch_size, rows - r0);
    Batch b = task.sample_batch(B, T, rng);
    Tensor logits = m.forward(b.x, rng);
    nll += sum(nn::cross_entropy_per_item(reshape(logits, {B * T, -1}), reshape(b.y, {-1}))).item();
    TokenAccuracy a = token_accuracy(logits, b.y);
    acc.correct += a.correct;
    acc.count += a.count;
    if (task.is_copy_task())  // task:recall: the first copy, the one at distance k + 1
      for (const auto& [k, ak] : copy_accuracy_by_length(
               logits, b.x, task.kind() == SyntheticTask::Kind::Recall ? first_copy_targets(b.x, b.y) : b.y)) {
        by_length[k].correct += ak.correct;
        by_length[k].count += ak.count;
      }
  }
  const double loss = acc.count > 0 ? nll / static_cast<double>(acc.count) : NAN;
  const double accuracy = acc.count > 0 ? static_cast<double>(acc.correct) / static_cast<double>(acc.count) : NAN;
  nlohmann::json r = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"accuracy", accuracy},
                      {"tokens", acc.count}, {"block_size", T}, {"source", m.config.data},
                      {"step", m.step}};
  if (!by_length.empty()) {
    std::vector<int64_t> ks, correct, count;
    for (const auto& [k, a] : by_length) ks.push_back(k), correct.push_back(a.correct), count.push_back(a.count);
    r["by_copy_length"] = {{"k", ks}, {"correct", correct}, {"count", count}};
  }
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
  TLM_CHECK(batch_size >= 1, "eval: --batch_size must be at least 1, got {}", batch_size);
  TLM_CHECK(block_size >= 0, "eval: --block_size must be at least 1 (or left out: the training "
            "context), got {}", block_size);
  TLM_CHECK(max_tokens >= 1, "eval: --max_tokens must be at least 1, got {}", max_tokens);
  LoadedModel m = load_model(ckpt);
  kernels::set_num_threads(static_cast<int>(m.config.threads));
  const int64_t T = block_size > 0 ? block_size : m.config.block_size;
  TLM_CHECK(T <= m.config.block_size || !nn::choice_of(m.config.pos).impl.learned_table,
            "eval: block_size {} is longer than the {} learned positions the model has; only "
            "pos = rope or none can run longer contexts", T, m.config.block_size);
  if (is_synthetic_data(m.config.data) && data.empty()) return eval_task(m, T, batch_size, max_tokens, json);
  // The text: a file, or the validation split of the training data.
  std::vector<int32_t> tokens;
  std::string source;
  if (!data.empty()) {
    std::string text = read_text_file(data);
    if (m.config.unseen_chars == UnseenChars::Replace) text = encodable_text(text, *m.tokenizer, m.config, data);
    tokens = m.tokenizer->encode(text);
    source = data;
  } else if (is_token_dir(m.config.data)) {
    // A prepared token directory: the first ids of val.bin (memory-mapped), enough windows.
    TokenDir dir = open_token_dir(m.config.data, m.config.tokenizer,
                                  [&] { return load_tokenizer(m.tokenizer->to_json()); });
    const int64_t n = std::min(dir.data.size(Split::Val), std::max<int64_t>(1, max_tokens / T) * T + 1);
    tokens = dir.data.read(Split::Val, 0, n);
    source = m.config.data + " (val.bin)";
  } else {
    std::string text = training_text(m.config);
    if (m.config.unseen_chars == UnseenChars::Replace) text = encodable_text(text, *m.tokenizer, m.config, "its data");
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
  if (metrics) {
    r["accuracy"] = tm.accuracy(), r["ece"] = tm.ece(), r["ece_bins"] = 15;
    r["mean_confidence"] = tm.mean_confidence();  // minus accuracy: > 0 over-confident
    r["reliability"] = {{"count", tm.bin_counts()}, {"confidence", tm.bin_confidence()},
                        {"accuracy", tm.bin_accuracy()}};  // empty bins: null
  }
  if (json) fmt::print("{}\n", r.dump());
  else fmt::print("{}: loss {:.4f}, perplexity {:.3f} over {} tokens (context {}){}\n", source, loss,
                  std::exp(loss), count, T,
                  metrics ? fmt::format(", accuracy {:.4f}, ECE {:.4f}", tm.accuracy(), tm.ece())
                          : std::string());
  return 0;
}

// The prompt of `tlm sample --prompt_file FILE`: the file's bytes as they are (a final newline
// included), which must be non-empty UTF-8 text.
std::string read_prompt_file(const std::string& path) {
  const std::string text = read_file(path, "sample: --prompt_file");
  TLM_CHECK(!text.empty(), "sample: --prompt_file '{}' is empty; give the text to continue", path);
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);  // train/data/char_tokenizer.h
    TLM_CHECK(n > 0, "sample: --prompt_file '{}' is not UTF-8 text: byte 0x{:02x} at offset {} "
              "does not start a valid UTF-8 character", path, static_cast<unsigned char>(text[i]), i);
    i += n;
  }
  return text;
}

// N continuations of one prompt; sample i draws from Rng(sample_seed(seed, i)) (train/run/seeds.h),
// so it is the single sample of `--seed sample_seed(seed, i)`. With N > 1 each is followed by a
// line of 15 dashes (nanoGPT's sample.py) and its seed goes to stderr.
int cmd_sample(const std::string& ckpt, const std::string& prompt, const std::string& prompt_file,
               bool both_prompts, int64_t length, double temperature, int64_t top_k, double top_p,
               int64_t seed, int64_t num_samples) {
  TLM_CHECK(!both_prompts, "sample: give the prompt either as --prompt or as --prompt_file, not both");
  TLM_CHECK(num_samples >= 1, "sample: --num_samples must be at least 1, got {}", num_samples);
  const std::string text = prompt_file.empty() ? prompt : read_prompt_file(prompt_file);
  LoadedModel m = load_model(ckpt);
  kernels::set_num_threads(static_cast<int>(m.config.threads));
  std::vector<int32_t> ids = m.tokenizer->encode(text.empty() ? "\n" : text);
  const int64_t n = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < num_samples; ++i) {
    const int64_t s = sample_seed(seed, i);
    Rng rng(static_cast<uint64_t>(s));
    Tensor out = m.generate(Tensor::from_vector(ids, {1, n}), length, temperature, top_k, top_p, rng);
    if (num_samples > 1) fmt::print(stderr, "sample {} of {}: --seed {}\n", i + 1, num_samples, s);
    fmt::print("{}\n", m.tokenizer->decode(out.to_vector<int32_t>()));
    if (num_samples > 1) fmt::print("---------------\n");
    std::fflush(stdout);
  }
  return 0;
}

int cmd_info(const std::string& ckpt, const std::string& config_file,
             const std::vector<std::string>& sets, int64_t vocab_size, bool json) {
  TrainConfig cfg;
  int64_t vocab = vocab_size;
  if (!ckpt.empty()) {  // the checkpoint's config, step, losses, sizes and hashes (no model built)
    const nlohmann::json info = checkpoint_info(ckpt);
    if (json) fmt::print("{}\n", info.dump());
    else fmt::print("{}", checkpoint_info_text(info));
    return 0;
  } else {
    cfg = resolve_config(config_file, sets);
  }
  // Sizes from the config alone (train/launch/memory_estimate.h): instant at any size.
  const ModelSize size = model_size(cfg, vocab);
  const MemoryEstimate memory = estimate_memory(cfg, vocab);
  int64_t optimizer_bytes = 0;
  for (const auto& [name, bytes] : memory.parts)
    if (name == "optimizer state") optimizer_bytes = bytes;
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& [name, bytes] : memory.parts) parts[name] = bytes;
  const AvailableMemory available = available_memory();
  nlohmann::json r = {{"params", size.params},
                      {"params_non_embedding", size.params_non_embedding},
                      {"vocab_size", vocab},
                      {"flops_per_token", size.flops_per_token},
                      {"param_bytes", size.params * 4},
                      {"optimizer", cfg.optimizer},
                      {"optimizer_state_bytes", optimizer_bytes},
                      {"optimizer_buffers_per_param", size.params > 0 ? optimizer_bytes / (4 * size.params) : 0},
                      {"optimizer_params", size.params},
                      {"memory_estimate_bytes", memory.total_bytes()},
                      {"memory_estimate", parts},
                      {"memory_available_bytes", available.bytes},
                      {"blas", blas_description()},
                      {"blas_kernel", blas_kernel()},
                      {"threads", kernels::num_threads()},
                      {"mpi", mpi_built()}};
  if (cfg.pos == nn::Pos::Rope && cfg.block_size <= 16384) {  // the scan grows with L; keep info quick
    const int64_t head = nn::block_shape(unvalidated_gpt_config(cfg)).rope_dim;  // GAU: s
    r["rope_base"] = cfg.number("rope_base");
    r["rope_base_lower_bound"] = nn::rope_base_lower_bound(cfg.block_size, head);
  }
  fmt::print("{}\n", r.dump());
  return 0;
}

int cmd_tokenize(const std::string& data, const std::string& type, int64_t vocab_size,
                 const std::string& out) {
  std::string text = read_text_file(data);
  auto tok = make_tokenizer(type, text, {{"bpe_vocab_size", vocab_size}});
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

// A config key written as an option (`tlm train --n_layer=2`): point to --set.
std::string parse_hint(int argc, char** argv, const std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || error.find(a) == std::string::npos) continue;
    const std::string name = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
    if (find_config_key(name) == nullptr) continue;
    const std::string value = a.find('=') == std::string::npos ? "VALUE" : a.substr(a.find('=') + 1);
    return fmt::format(" (hint: config keys are set with --set: --set {}={})", name, value);
  }
  return "";
}

}  // namespace

int tlm::cli::run(int argc, char** argv) {
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
  bool overwrite = false;
  train->add_flag("--resume", resume, "continue from out_dir/ckpt.bin, with the config stored in it");
  bool force = false;
  train->add_flag("--force", force, "train even when the memory estimate exceeds the available memory");
  train->add_flag("--overwrite", overwrite, "start a new run even if out_dir holds one (its "
                  "ckpt.bin, ckpt_best.bin and log.jsonl are deleted)");
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
  tune->add_option("--ckpt", ckpt, "the pretrained checkpoint (backbone; required unless --resume)");
  tune->add_option("--method", tune_method, "lst | lora | full (required unless --resume)");
  tune->add_option("--data", data, "text to tune on (default: the built-in fortunes corpus)");
  tune->add_option("--set", sets, "override a config key: --set max_iters=300 (repeatable)");
  tune->add_flag("--resume", resume, "continue from out_dir/ckpt.bin (--set out_dir=DIR, or the "
                 "default of --ckpt and --method), with the config stored in it");
  tune->add_flag("--force", force, "tune even when the memory estimate exceeds the available memory");
  tune->add_flag("--overwrite", overwrite, "start anew even if out_dir holds a run (its files "
                 "are deleted)");
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
  auto* prompt_opt = sample->add_option("--prompt", prompt, "text to continue (default: a newline)");
  sample->add_option("--length", length, "tokens to generate");
  sample->add_option("--temperature", temperature, "softmax temperature (0: greedy)");
  sample->add_option("--top_k", top_k, "keep the k most likely tokens (0: all)");
  sample->add_option("--top_p", top_p, "nucleus sampling mass (1: all)");
  sample->add_option("--seed", seed, "random seed (sample i > 1 of --num_samples: a seed derived "
                     "from it, printed to stderr)");
  std::string prompt_file;
  auto* prompt_file_opt = sample->add_option("--prompt_file", prompt_file, "read the text to continue from a UTF-8 file "
                     "(its bytes as they are; instead of --prompt)");
  int64_t num_samples = 1;
  sample->add_option("--num_samples", num_samples, "independent continuations of the prompt, "
                     "each followed by a line of 15 dashes when N > 1");

  auto* info = app.add_subcommand("info", "parameters, FLOPs per token, optimizer memory, BLAS");
  info->add_option("--ckpt", ckpt, "a checkpoint");
  info->add_option("--config", config_file, "or a config file");
  info->add_option("--set", sets, "config overrides");
  info->add_option("--vocab_size", info_vocab, "vocabulary size for a config (default 65)");
  bool info_json = false;
  info->add_flag("--json", info_json, "--ckpt: one JSON line instead of text (without --ckpt the "
                 "output is always one JSON line)");

  int64_t rb_context = 1024, rb_head = 64;
  auto* rope_bound = app.add_subcommand("rope-bound", "lower bound on the RoPE base for a context "
                                        "length and head size (docs/methods.md, \"RoPE base bound\")");
  rope_bound->add_option("--context", rb_context, "context length L");
  rope_bound->add_option("--head_size", rb_head, "head size h (even)");

  auto* tokenize = app.add_subcommand("tokenize", "train a tokenizer on a text and save it");
  tokenize->add_option("--data", data, "text file")->required();
  tokenize->add_option("--type", tok_type, "bpe | char");
  tokenize->add_option("--vocab_size", vocab_size, "BPE vocabulary size (256 bytes + merges)");
  tokenize->add_option("--out", out, "output file")->required();

  DiagCommand diag(app);        // tlm diag cost|grads|entropy|unargmax (train/cli/diag_cli.cpp)
  PrepareCommand prepare(app);  // tlm prepare (train/cli/prepare_cli.cpp)
  HfCommands hf(app);           // tlm import|export|encode (train/cli/hf_cli.cpp)

  TaskOptions task_opt;
  auto* task = app.add_subcommand("task", "train a small classifier: multi-label lines, sentence "
                                          "pairs, or LM + auxiliary task (train/tasks/tasks.h)");
  task->add_option("--task", task_opt.task, "multilabel | pairs | lm_aux");
  task->add_option("--loss", task_opt.loss, "multilabel: zlpr | soft_zlpr | rdrop | bce | bce_weighted; pairs: cosent");
  task->add_option("--weighting", task_opt.weighting,
                   "lm_aux: fixed | realtime | uncertainty | gradnorm | mgda | main_aux");
  task->add_option("--rdrop_alpha", task_opt.rdrop_alpha, "rdrop: weight of the sigmoid KL");
  task->add_option("--aux_weight", task_opt.aux_weight, "lm_aux, fixed: weight of the aux loss");
  task->add_option("--labels", task_opt.labels, "multilabel: groups (8 word groups) | rare_words (64 words in <= 1 % of lines)");
  task->add_option("--aux", task_opt.aux, "lm_aux: vowel (next char a vowel) | line_end (regression: chars to the newline)");
  task->add_option("--eval_examples", task_opt.eval_examples, "held-out examples evaluated (multilabel, pairs)");
  task->add_option("--config", config_file, "JSON config (model, optimizer and loop keys)");
  task->add_option("--set", sets, "override a config key (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "tlm: error: {}{}\n", e.what(), parse_hint(argc, argv, e.what()));
    return 1;
  }
  const RunStart start = resume ? RunStart::Resume : overwrite ? RunStart::Overwrite : RunStart::Fresh;
  auto run_command = [&]() -> int {
    try {
      if (*train) {
        if (show_keys) {
          fmt::print("{}", config_reference_markdown());
          return 0;
        }
        TLM_CHECK(!(resume && overwrite), "train: --resume and --overwrite exclude each other");
        return run_training(resume ? resume_train_config(config_file, sets) : resolve_config(config_file, sets),
                            start, force, sample_chars, profile, rank_dump);
      }
      if (*tune) {
        TLM_CHECK(!(resume && overwrite), "tune: --resume and --overwrite exclude each other");
        TLM_CHECK(resume || (!ckpt.empty() && !tune_method.empty()), "tune: --ckpt (the backbone) "
                  "and --method (lst | lora | full) are required to start a tuning run");
        return run_training(resume ? tune_resume_config(ckpt, tune_method, data, sets)
                                   : tune_config(ckpt, tune_method, data, sets),
                            start, force, sample_chars, false, "");
      }
      if (*eval) return cmd_eval(ckpt, data, block_size, batch_size, max_tokens, json, eval_metrics);
      if (*task) return cmd_task(config_file, sets, task_opt);
      if (*sample) {
        const bool both = prompt_opt->count() > 0 && prompt_file_opt->count() > 0;
        return cmd_sample(ckpt, prompt, prompt_file, both, length, temperature, top_k, top_p, seed,
                          num_samples);
      }
      if (*info) return cmd_info(ckpt, config_file, sets, info_vocab, info_json);
      if (*rope_bound) return cmd_rope_bound(rb_context, rb_head);
      if (*tokenize) return cmd_tokenize(data, tok_type, vocab_size, out);
      if (diag.parsed()) return diag.run();
      if (prepare.parsed()) return prepare.run();
      if (hf.parsed()) return hf.run();
    } catch (const tlm::Error& e) {
      fmt::print(stderr, "tlm: error: {}\n", e.what());
      return 1;
    } catch (const std::exception& e) {
      fmt::print(stderr, "tlm: error: {}\n", e.what());
      return 1;
    }
    return 0;
  };
  const int status = run_command();
  // Results go to stdout: a failed write there (a full disk, a closed pipe) is a failed command.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    fmt::print(stderr, "tlm: error: cannot write the output to stdout: {}\n", std::strerror(errno));
    return 1;
  }
  return status;
}
