#include "train/run/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "nn/loss/cross_entropy.h"
#include "optim/clip.h"
#include "optim/registry.h"
#include "tensor/kernels/parallel.h"
#include "tensor/profile.h"
#include "tensor/view.h"
#include "train/io/checkpoint.h"
#include "train/data/corpus.h"
#include "train/data/token_dir.h"
#include "train/run/faults.h"
#include "train/sys/file_io.h"
#include "train/sys/json_util.h"
#include "train/io/model_keys.h"
#include "train/data/tokenizer.h"
#include "train/run/mixed_precision.h"
#include "train/launch/optimizer_setup.h"
#include "train/launch/resume_config.h"
#include "train/run/seeds.h"
#include "train/run/train_step.h"
#include "train/sys/interrupt.h"
#include "train/run/progress.h"
#include "train/launch/run_dir.h"
#include "train/run/run_log.h"
#include "train/data/text_check.h"
#include "train/sys/sysinfo.h"
#include "train/tune/tune.h"

namespace tlm::train {
namespace {

// The checkpoint tensor of a loss's cost embedding (nn::LossType::needs_cost_embedding; the name
// dates from EMO, the loss that has one, and stays so older checkpoints resume).
constexpr const char* kCostEmbeddingTensor = "emo.cost_embedding";

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::unique_ptr<Tokenizer> build_tokenizer(const TrainConfig& cfg, const std::string& text) {
  // Trained on the whole text, as nanoGPT builds its character table from the whole file.
  return make_tokenizer(cfg.tokenizer, text, cfg.entry_values);  // the selected kind's keys
}

}  // namespace

nlohmann::json TrainSummary::to_json() const {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j = {{"iters", iters},
                      {"train_loss", num(train_loss)},
                      {"val_loss", num(val_loss)},
                      {"tokens_per_s", std::round(tokens_per_s * 10) / 10},
                      {"ms_per_iter", std::round(ms_per_iter * 1000) / 1000},
                      {"peak_bytes", peak_bytes},
                      {"peak_rss_bytes", peak_rss_bytes},
                      {"params", params},
                      {"trainable_params", trainable_params},
                      {"interrupted", interrupted},
                      {"skipped_steps", skipped_steps},
                      {"optimizer_state_bytes", optimizer_state_bytes},
                      {"optimizer_buffers_per_param", optimizer_buffers_per_param},
                      {"activation_bytes", activation_bytes}};
  if (std::isfinite(initial_val_loss)) j["initial_val_loss"] = initial_val_loss;
  if (precision != Precision::F32) {
    j["precision"] = precision_name(precision);
    j["precision_kernel"] = precision_kernel;  // avx512_bf16 | emulated (autograd/precision.h)
  }
  if (precision == Precision::F16) {
    j["loss_scale"] = loss_scale;
    j["scaler_skipped_steps"] = scaler_skipped_steps;
  }
  if (!profile.is_null()) j["profile"] = profile;
  if (ranks > 1)
    j["ranks"] = ranks, j["allreduce_ms"] = std::round(allreduce_ms * 1000) / 1000,
    j["wait_ms"] = std::round(wait_ms * 1000) / 1000;
  return j;
}

nn::LossOptions lm_loss_options(const TrainConfig& cfg) {
  nn::LossOptions o;
  for (const nn::EntryKey& k : nn::loss_registry().get(cfg.loss).keys)  // the selected loss's keys
    if (const nn::KeyValue* v = cfg.entry_values.find(k.name)) o.keys.set(k.name, *v);
  return o;
}

std::string training_text(const TrainConfig& cfg) {
  if (cfg.data.empty()) return build_fortunes_corpus();
  TLM_CHECK(!is_token_dir(cfg.data), "data: '{}' is a directory of token files (tlm prepare); "
            "only tlm train and tlm eval read it, this command needs a text file", cfg.data);
  return read_text_file(cfg.data);
}

namespace {

// A checkpoint can pass its CRC and still hold metadata of the wrong JSON types (edited by hand,
// written by another program). nlohmann's type_error / out_of_range become a tlm::Error that
// names the file, like every other refusal of a checkpoint.
template <class F>
auto with_metadata_errors(const std::string& path, F&& read) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("checkpoint {}: metadata has the wrong shape ({}); was it written by tlm train?", path,
             e.what());
  }
}

}  // namespace

LoadedModel load_model(const std::string& path) {
  // The model's tensors only (not the optimizer state a training checkpoint also holds).
  Checkpoint ck = load_checkpoint(path, [](std::string_view name) { return name.starts_with("model."); });
  const bool tuned = ck.meta.contains("config") && ck.meta.at("config").is_object() &&
                     is_tuned_config(ck.meta.at("config"));
  return with_metadata_errors(path, [&] {
    if (!tuned) return load_trained_model(ck, path);  // train/model/loaded_model.h
    return load_tuned(ck, TrainConfig::from_json(ck.meta.at("config"), path), path);  // train/tune/tune.h
  });
}

Trainer::Trainer(const TrainConfig& cfg, bool resume, Distributed* world)
    : cfg_(cfg),
      loss_type_(&nn::loss_registry().get(cfg.loss)),
      loss_options_(lm_loss_options(cfg)),
      data_rng_(derive_seed(cfg.seed, Stream::Data)),  // train/run/seeds.h
      dropout_rng_(derive_seed(cfg.seed, Stream::Dropout)) {
  cfg_.validate();
  cfg_.data = absolute_data_path(cfg_.data);  // so eval, resume and diag work from any directory
  cfg_.tokenizer_file = absolute_data_path(cfg_.tokenizer_file);
  precision_ = cfg_.precision;
  scaler_ = make_loss_scaler(cfg_);
  if (!world) solo_ = std::make_unique<Distributed>();
  world_ = world ? world : solo_.get();
  // threads = 0 under N ranks: the host's cores shared among its ranks (never oversubscribed).
  kernels::set_num_threads(world_->active()
                               ? threads_per_rank(cfg_.threads, available_cores(), world_->local_size())
                               : static_cast<int>(cfg_.threads));
  threads_ = kernels::num_threads();
  uint64_t data_bytes = 0;
  uint32_t data_crc = 0;
  if (cfg_.tune_method != TuneMethod::None) {
    init_tuning_(resume);  // train/tune/tune.h
  } else if (is_synthetic_data(cfg_.data)) {
    // A built-in task: batches are generated; the tokenizer just names its symbols.
    task_ = std::make_unique<SyntheticTask>(cfg_.data, cfg_.block_size);
    tokenizer_ = task_->tokenizer();
    data_ = std::make_unique<Dataset>(std::vector<int32_t>{0, 0}, 0.5, cfg_.data);
  } else if (is_token_dir(cfg_.data)) {
    // A directory written by `tlm prepare` (or nanoGPT's prepare.py): memory-mapped ids, its
    // own tokenizer (a resume checks both against the checkpoint; train/data/token_dir.h).
    TokenDir dir = open_token_dir(cfg_.data, cfg_.tokenizer, [&] { return build_tokenizer(cfg_, ""); });
    tokenizer_ = std::move(dir.tokenizer);
    data_ = std::make_unique<Dataset>(std::move(dir.data));
    data_files_ = std::move(dir.files);
    data_bytes = dir.bytes;
    data_crc = dir.crc32;
    data_->check_context(cfg_.block_size);
  } else {
    Checkpoint ck;
    if (resume) {  // the data file the checkpoint names must still be there, with the same bytes
      ck.meta = load_checkpoint_meta(checkpoint_path());
      if (ck.meta.contains("data_file")) check_data_file_present(ck.meta.at("data_file"), checkpoint_path());
    }
    const std::string text = training_text(cfg_);
    data_bytes = text.size();
    if (world_->active()) data_crc = crc32(text);
    data_fingerprint_ = data_fingerprint(cfg_.data, text);
    const std::string source = cfg_.data.empty() ? "the built-in fortunes corpus" : cfg_.data;
    if (resume) {
      if (ck.meta.contains("data_file")) check_data_fingerprint(ck.meta.at("data_file"), text, checkpoint_path());
      // The tokenizer comes from the checkpoint, so ids mean what they meant when training began.
      tokenizer_ = with_metadata_errors(checkpoint_path(), [&] { return load_tokenizer(ck.meta.at("tokenizer")); });
    } else {
      // A new run refuses a file that is mostly not text (train/data/text_check.h).
      if (!cfg_.allow_binary && !cfg_.data.empty()) check_text(text, cfg_.data);
      if (cfg_.tokenizer_file.empty()) {
        tokenizer_ = build_tokenizer(cfg_, text);
      } else {  // from `tlm tokenize`; the config then names its kind and size
        tokenizer_ = load_tokenizer_file(cfg_.tokenizer_file);
        cfg_.tokenizer = tokenizer_->name();
        if (const std::string& k = tokenizer_registry().get(cfg_.tokenizer).vocab_key; !k.empty())
          cfg_.entry_values.set(k, int64_t{tokenizer_->vocab_size()});  // bpe: bpe_vocab_size
      }
    }
    data_ = std::make_unique<Dataset>(text, *tokenizer_, 1.0 - cfg_.val_fraction, source);
    data_->check_context(cfg_.block_size);
  }

  Rng init(derive_seed(cfg_.seed, Stream::Init));
  if (cfg_.tune_method == TuneMethod::None)
    model_ = std::make_unique<nn::GPT>(gpt_config(cfg_, tokenizer_->vocab_size()), init);
  else
    side_ = prepare_tuning(*model_, cfg_, init, resume ? std::map<std::string, Tensor>{} : lst_importance_());
  optimizer_ = make_optimizer(cfg_, trained_parameters(*model_, side_.get()));  // optimizer_setup.h
  schedule_ = make_schedule(cfg_);
  if (resume) with_metadata_errors(checkpoint_path(), [&] { restore_(checkpoint_path()); });
  // A cost embedding for a loss that needs one (emo; docs/methods.md, "EMO"): the LM head as
  // the run with this loss starts, frozen (a resume has restored it above).
  if (loss_type_->needs_cost_embedding && !loss_options_.emo_embedding.defined())
    loss_options_.emo_embedding = model_->lm_head_weight().detach().clone();
  if (world_->active()) {
    check_ranks_agree_(data_bytes, data_crc);
    buckets_ = std::make_unique<GradientBuckets>(
        optimizer_->parameters(), static_cast<size_t>(cfg_.dist_bucket_mb * (1 << 20)));
  }
  pipeline_ = std::make_unique<GradientPipeline>(
      GradPipelineOptions{.grad_clip = cfg_.grad_clip, .nan_policy = cfg_.nan_policy},
      trained_parameters(*model_, side_.get()), world_, buckets_.get(), scaler_.get());
}

void Trainer::check_ranks_agree_(uint64_t data_bytes, uint32_t data_crc) {
  // What must be equal on every rank: the config, the training text, the parameter count and
  // the weights the run starts from (init or checkpoint), and the step.
  uint32_t weights_crc = 0;
  for (auto& [name, t] : model_->named_parameters()) {
    Tensor c = t.contiguous();
    weights_crc = crc32_update(weights_crc, c.data<float>(), static_cast<size_t>(c.numel()) * sizeof(float));
  }
  nlohmann::json mine = {{"config", cfg_.to_json()},
                         {"data bytes", data_bytes},
                         {"data crc32", data_crc},
                         {"parameter count", model_->num_parameters()},
                         {"initial weights crc32", weights_crc},
                         {"step", step_}};
  const nlohmann::json root = nlohmann::json::parse(world_->broadcast(mine.dump()));
  std::string diff;
  auto differs = [&](const std::string& what, const nlohmann::json& a, const nlohmann::json& b) {
    if (diff.empty() && a != b)
      diff = fmt::format("rank {} has {} = {} where rank 0 has {}", world_->rank(), what, a.dump(), b.dump());
  };
  for (auto& [key, value] : mine.at("config").items())
    differs(key, value, root.at("config").contains(key) ? root.at("config").at(key) : nlohmann::json());
  for (auto& [key, value] : mine.items())
    if (key != "config") differs(key, value, root.at(key));
  std::string all;
  for (const std::string& d : world_->allgather(diff))
    if (!d.empty()) all += (all.empty() ? "" : "; ") + d;
  if (!all.empty()) {
    world_->mark_collective_error();  // every rank throws this same error
    TLM_FAIL("distributed: the {} ranks do not agree at start: {} (every rank must run the same "
             "config on the same data file and checkpoint)", world_->size(), all);
  }
}

void Trainer::init_tuning_(bool resume) {
  TLM_CHECK(!is_synthetic_data(cfg_.data), "tune: data = {} is a built-in task; tune on a text",
            cfg_.data);
  LoadedModel bb = load_backbone(cfg_.backbone);
  check_matches_backbone(bb.config, cfg_, cfg_.backbone, "tune");
  backbone_ref_ = backbone_ref(cfg_.backbone).to_json();
  if (resume) {
    Checkpoint ck;
    ck.meta = load_checkpoint_meta(checkpoint_path());
    TLM_CHECK(ck.meta.contains("backbone") && ck.meta.at("backbone") == backbone_ref_,
              "resume: {} was tuned from {}, which is not the backbone {} now is ({})",
              checkpoint_path(), ck.meta.contains("backbone") ? ck.meta.at("backbone").dump() : "(none)",
              cfg_.backbone, backbone_ref_.dump());
  }
  tokenizer_ = std::move(bb.tokenizer);  // the backbone's ids
  model_ = std::move(bb.model);
  const std::string source = cfg_.data.empty() ? "the built-in fortunes corpus" : cfg_.data;
  const std::string raw = training_text(cfg_);
  data_fingerprint_ = data_fingerprint(cfg_.data, raw);
  const std::string text = encodable_text(raw, *tokenizer_, cfg_, source);
  data_ = std::make_unique<Dataset>(text, *tokenizer_, 1.0 - cfg_.val_fraction, source);
  data_->check_context(cfg_.block_size);
}

std::map<std::string, Tensor> Trainer::lst_importance_() {
  // Only a fresh LST run prunes (a resume takes the side weights from its checkpoint).
  if (cfg_.tune_method != TuneMethod::Lst) return {};
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, Tensor> importance;
  if (cfg_.lst_fisher_samples > 0) {
    // N windows of block_size tokens from the train split, batch 1, with an Rng of their own.
    Rng rng(derive_seed(cfg_.seed, Stream::Fisher));
    importance = nn::empirical_fisher(
        *model_,
        [&](int64_t) {
          Batch b = data_->sample_batch(Split::Train, 1, cfg_.block_size, rng);
          return nn::FisherSample{b.x, b.y};
        },
        cfg_.lst_fisher_samples);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  lst_init_ = {{"kind", "lst_init"},
               {"importance", cfg_.lst_fisher_samples > 0 ? "fisher" : "magnitude"},
               {"samples", cfg_.lst_fisher_samples},
               {"seconds", s}};
  lst_init_message_ =
      cfg_.lst_fisher_samples > 0
          ? fmt::format("lst: side network pruned by empirical Fisher importance over {} train "
                        "windows (batch 1, {} tokens) in {:.2f} s",
                        cfg_.lst_fisher_samples, cfg_.block_size, s)
          : "lst: side network pruned by weight magnitude (lst_fisher_samples = 0)";
  return importance;
}

Tensor Trainer::forward_(const Tensor& ids, Rng& rng) {
  if (!side_) return model_->forward(ids, rng);
  side_->train(model_->training());
  return side_->forward(ids, rng);
}

std::string Trainer::checkpoint_path() const {
  return (std::filesystem::path(cfg_.out_dir) / "ckpt.bin").string();
}

void Trainer::save(const std::string& path) const {
  Checkpoint ck;
  ck.meta["format"] = "tlm-train";
  ck.meta["config"] = cfg_.to_json();
  ck.meta["tokenizer"] = tokenizer_->to_json();
  ck.meta["step"] = step_;
  ck.meta["skipped_steps"] = skipped_steps_;
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  if (last_eval_step_ >= 0)
    ck.meta["losses"] = {{"step", last_eval_step_}, {"train_loss", num(last_eval_.train_loss)},
                         {"val_loss", num(last_eval_.val_loss)}};
  ck.meta["best_val_loss"] = num(best_val_loss_);
  if (!data_fingerprint_.is_null()) ck.meta["data_file"] = data_fingerprint_;
  ck.meta["rng"] = {{"data", rng_to_json(data_rng_)}, {"dropout", rng_to_json(dropout_rng_)}};
  if (!data_files_.is_null()) ck.meta["data_files"] = data_files_;
  for (auto& [name, t] : trained_parameters(*model_, side_.get())) ck.add("model." + name, t);
  if (!backbone_ref_.is_null()) ck.meta["backbone"] = backbone_ref_;
  if (loss_options_.emo_embedding.defined()) ck.add(kCostEmbeddingTensor, loss_options_.emo_embedding);
  optim::OptimizerState st = optimizer_->state_view();  // no copy: written out, then dropped
  for (auto& [name, t] : st.tensors) ck.add("optim." + name, t);
  ck.meta["optim_scalars"] = st.scalars;
  ck.meta["optimizer"] = optimizer_->name();
  if (scaler_) ck.meta["loss_scaler"] = scaler_->state_dict();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(path).parent_path());
  save_checkpoint(path, ck, faults_ ? faults_->disk() : nullptr);
}

void Trainer::restore_(const std::string& path) {
  Checkpoint ck = load_checkpoint(path);
  TLM_CHECK(json_string_or(ck.meta, "format") == "tlm-train",
            "resume: {} is not a tlm training checkpoint", path);
  TrainConfig saved = TrainConfig::from_json(ck.meta.at("config"), path);
  nlohmann::json a = saved.to_json(), b = cfg_.to_json();
  for (const std::string& key : model_keys())  // train/io/model_keys.h
    TLM_CHECK(a.at(key) == b.at(key) || resumable_key(key, saved),
              "resume: {} was trained with {} = {}, but the config says {}; a checkpoint can "
              "only be resumed with the model settings it was trained with",
              path, key, a.at(key).dump(), b.at(key).dump());
  TLM_CHECK(json_string_or(ck.meta, "optimizer") == cfg_.optimizer,
            "resume: {} holds {} state, but the config says optimizer = {}", path,
            json_string_or(ck.meta, "optimizer", "?"), cfg_.optimizer);
  if (!data_files_.is_null()) check_token_files_unchanged(ck.meta, data_files_, *tokenizer_, path);
  std::map<std::string, Tensor> model_state;
  optim::OptimizerState opt_state;
  for (auto& [name, t] : ck.tensors) {
    if (name.rfind("model.", 0) == 0) model_state[name.substr(6)] = t;
    else if (name.rfind("optim.", 0) == 0) opt_state.tensors[name.substr(6)] = t;
    else if (name == kCostEmbeddingTensor && loss_type_->needs_cost_embedding) loss_options_.emo_embedding = t;
  }
  if (cfg_.tune_method != TuneMethod::None)
    load_trained(trained_parameters(*model_, side_.get()), model_state, path);
  else
    model_->load_state_dict(model_state);
  opt_state.scalars = ck.meta.at("optim_scalars").get<std::map<std::string, double>>();
  optimizer_->load_state_dict(opt_state);
  rng_from_json(ck.meta.at("rng").at("data"), data_rng_);
  rng_from_json(ck.meta.at("rng").at("dropout"), dropout_rng_);
  step_ = ck.meta.at("step").get<int64_t>();
  if (scaler_ && ck.meta.contains("loss_scaler"))
    scaler_->load_state_dict(ck.meta.at("loss_scaler").get<std::map<std::string, double>>());
  skipped_steps_ = ck.meta.contains("skipped_steps") && ck.meta.at("skipped_steps").is_number_integer()
                       ? ck.meta.at("skipped_steps").get<int64_t>()
                       : 0;
  if (ck.meta.contains("best_val_loss") && ck.meta.at("best_val_loss").is_number())
    best_val_loss_ = ck.meta.at("best_val_loss").get<double>();
  if (ck.meta.contains("losses") && ck.meta.at("losses").is_object()) {
    const nlohmann::json& l = ck.meta.at("losses");
    auto get = [&](const char* k) { return l.contains(k) && l.at(k).is_number() ? l.at(k).get<double>() : NAN; };
    last_eval_ = {get("train_loss"), get("val_loss")};
    last_eval_step_ = l.contains("step") && l.at("step").is_number_integer() ? l.at("step").get<int64_t>() : -1;
  }
}

Batch Trainer::train_batch_() {
  if (!world_->active()) return batch_(Split::Train, data_rng_);
  // The global batch of N*B windows, drawn exactly as one rank with batch N*B draws it; this
  // rank keeps rows [rank*B, (rank+1)*B), so no two ranks see the same draw.
  const int64_t B = cfg_.batch_size, N = world_->size(), r = world_->rank();
  Batch all = task_ ? task_->sample_batch(N * B, cfg_.block_size, data_rng_)
                    : data_->sample_batch(Split::Train, N * B, cfg_.block_size, data_rng_);
  return {views::narrow(all.x, 0, r * B, B).contiguous(), views::narrow(all.y, 0, r * B, B).contiguous()};
}

Batch Trainer::batch_(Split split, Rng& rng) const {
  if (task_) return task_->sample_batch(cfg_.batch_size, cfg_.block_size, rng);
  return data_->sample_batch(split, cfg_.batch_size, cfg_.block_size, rng);
}

double Trainer::train_step_() {
  model_->train();
  // N ranks: this step's dropout masks come from a stream of this rank's own, seeded by the
  // shared dropout Rng (which thus advances identically on every rank and in the checkpoint).
  const bool dist = world_->active();
  Rng rank_dropout(dist ? dropout_rng_.next_u64() + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(world_->rank() + 1) : 0);
  Rng& dropout = dist ? rank_dropout : dropout_rng_;
  // The step (train/run/train_step.h): micro-batches of this rank's rows, forward under the
  // precision policy, the loss in fp32, backward; then the gradient pipeline and the update.
  TrainStep step({.accumulation = cfg_.gradient_accumulation_steps, .precision = precision_,
                  .faults = faults_},
                 *optimizer_, *pipeline_);
  auto micro_batch = [&](int64_t) -> TrainStep::LossFn {
    Batch b = train_batch_();
    // The logits stay alive until the micro-batch's backward is done (the LossFn's lifetime).
    return [this, b, &dropout, logits = Tensor()]() mutable {
      logits = forward_(b.x, dropout);  // [B,T,V]
      PrecisionGuard fp32_loss(Precision::F32);  // losses compute (and save) in fp32
      return nn::lm_loss(cfg_.loss, logits, b.y, loss_options_);
    };
  };
  const StepResult r = step.run(step_, schedule_->lr_at(step_), micro_batch,
                                [&] { return interrupt_ && interrupt_->requested(); });
  precision_stats_ = r.precision;
  activation_bytes_ = std::max(activation_bytes_, r.activation_bytes);
  if (dist) {
    last_wait_ms_ = r.wait_ms;
    last_allreduce_ms_ = r.allreduce_ms;
    stop_all_ = stop_all_ || r.stop_requested;
  }
  skip_reason_ = r.skip_reason;
  scaler_skip_ = r.skipped_by_scaler;
  ++step_;
  if (!r.applied) {
    if (!r.skipped_by_scaler) ++skipped_steps_;  // nan_policy = skip
    return NAN;
  }
  last_grad_norm_ = r.grad_norm;
  return r.loss;
}

EvalResult Trainer::evaluate(int64_t step) {
  NoGradGuard no_grad;
  PrecisionGuard amp(precision_);  // the model as it runs in this precision; the loss in fp32
  model_->eval();
  EvalResult r;
  Rng rng(derive_seed(cfg_.seed, eval_stream(step)));
  for (Split split : {Split::Train, Split::Val}) {
    double sum = 0;
    for (int64_t i = 0; i < cfg_.eval_iters; ++i) {
      Batch b = batch_(split, rng);
      Tensor logits = forward_(b.x, rng);
      const int64_t V = logits.size(-1);
      PrecisionGuard fp32_loss(Precision::F32);
      sum += nn::cross_entropy(reshape(logits, {-1, V}), reshape(b.y, {-1})).item();
    }
    double mean = cfg_.eval_iters > 0 ? sum / static_cast<double>(cfg_.eval_iters) : NAN;
    (split == Split::Train ? r.train_loss : r.val_loss) = mean;
  }
  model_->train();
  return r;
}

TrainSummary Trainer::run(std::FILE* out) {
  // N ranks: only rank 0 writes the log, prints and saves; the others train silently.
  const bool root = world_->is_root(), dist = world_->active();
  if (!root) out = nullptr;
  // log.jsonl is appended to, never truncated: a new run into a directory holding a run is
  // refused before this (prepare_out_dir, train/launch/run_dir.h) unless --overwrite removed it.
  std::unique_ptr<RunLog> log_file;
  if (root) {
    std::filesystem::create_directories(cfg_.out_dir);
    log_file = std::make_unique<RunLog>((std::filesystem::path(cfg_.out_dir) / "log.jsonl").string());
    if (step_ > 0) log_file->set_checkpoint(checkpoint_path(), step_);  // resumed from it
  } else {
    log_file = std::make_unique<RunLog>();
  }
  RunLog& log = *log_file;
  TrainSummary s;
  s.params = model_->num_parameters() + (side_ ? side_->num_parameters() : 0);
  for (auto& [name, p] : trained_parameters(*model_, side_.get())) s.trainable_params += p.numel();
  s.optimizer_state_bytes = optimizer_->state_bytes();
  s.optimizer_buffers_per_param = optimizer_->buffers_per_parameter();
  log.write({{"kind", "header"}, {"step", step_}, {"params", s.params},
             {"optimizer", optimizer_->name()},
             {"optimizer_params", optimizer_->num_parameters()},
             {"optimizer_buffers_per_param", s.optimizer_buffers_per_param},
             {"optimizer_buffers", optimizer_->buffer_names()},
             {"optimizer_state_bytes", s.optimizer_state_bytes}});
  s.ranks = world_->size();
  const int64_t tokens_per_step =
      world_->size() * cfg_.batch_size * cfg_.block_size * cfg_.gradient_accumulation_steps;
  Progress progress(cfg_.max_iters, step_, out, cfg_.log_interval);
  InterruptGuard interrupt;
  interrupt_ = &interrupt;
  std::vector<double> allreduce_ms, wait_ms;
  std::vector<double> step_ms;
  EvalResult last;
  reset_peak_memory();
  std::unique_ptr<ProfileSession> prof;
  double profiled_step_s = 0;
  if (profile_) prof = std::make_unique<ProfileSession>();

  // Checkpoints (rank 0 only; saving reads the state and changes nothing): at every evaluation
  // step, every ckpt_interval steps, every ckpt_minutes, on Ctrl-C and at the end; each atomic.
  auto last_save = std::chrono::steady_clock::now();
  int64_t saved_step = -1;
  auto save_checkpoint_ = [&](const char* reason) {
    if (!root || saved_step == step_) return;
    save(checkpoint_path());
    saved_step = step_;
    last_save = std::chrono::steady_clock::now();
    log.set_checkpoint(checkpoint_path(), step_);
    log.write({{"kind", "checkpoint"}, {"step", step_}, {"reason", reason}, {"path", checkpoint_path()}});
  };
  auto do_eval = [&]() {
    if (cfg_.eval_iters <= 0 || !root) return;  // evaluation touches no shared state
    last = evaluate(step_);
    last_eval_ = last;
    last_eval_step_ = step_;
    const bool best = std::isfinite(last.val_loss) && !(last.val_loss >= best_val_loss_);
    if (best) best_val_loss_ = last.val_loss;
    log.write({{"kind", "eval"}, {"step", step_}, {"train_loss", last.train_loss},
               {"val_loss", last.val_loss}, {"peak_bytes", memory_stats().peak_bytes},
               {"peak_rss_bytes", peak_rss_bytes()}});
    progress.message(fmt::format("step {}: train loss {:.4f}, val loss {:.4f}", step_,
                                 last.train_loss, last.val_loss));
    if (best && cfg_.ckpt_best) {
      const std::string path = (std::filesystem::path(cfg_.out_dir) / "ckpt_best.bin").string();
      save(path);
      log.write({{"kind", "checkpoint"}, {"step", step_}, {"reason", "best"}, {"path", path},
                 {"val_loss", last.val_loss}});
    }
  };

  if (!lst_init_.is_null()) {  // how a fresh LST side network was initialised
    log.write(lst_init_);
    progress.message(lst_init_message_);
  }
  if (cfg_.tune_method != TuneMethod::None && step_ == 0) {  // the loss before tuning, at step 0
    do_eval();
    s.initial_val_loss = last.val_loss;
  }
  while (step_ < cfg_.max_iters) {
    if (cfg_.eval_interval > 0 && step_ > 0 && step_ % cfg_.eval_interval == 0 && !step_ms.empty()) {
      do_eval();
      save_checkpoint_("eval");
    }
    const double lr = schedule_->lr_at(step_);
    auto t0 = std::chrono::steady_clock::now();
    const double loss = train_step_();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    step_ms.push_back(ms);
    if (dist) allreduce_ms.push_back(last_allreduce_ms_), wait_ms.push_back(last_wait_ms_);
    profiled_step_s += ms / 1000.0;
    const double tps = static_cast<double>(tokens_per_step) / (ms / 1000.0);
    // Mixed precision statistics of this step (train/run/mixed_precision.h).
    nlohmann::json amp_stats = nlohmann::json::object();
    std::string amp_line;
    if (precision_ != Precision::F32) {
      amp_stats = {{"grad_underflow", precision_stats_.underflow_fraction()},
                   {"overflow", precision_stats_.overflow}};
      amp_line = fmt::format(" underflow {:.2e}", precision_stats_.underflow_fraction());
      if (scaler_) {
        amp_stats["loss_scale"] = scaler_->scale();
        amp_stats["scaler_skipped"] = scaler_->skipped_steps();
        amp_line += fmt::format(" scale {:g} skipped {}", scaler_->scale(), scaler_->skipped_steps());
      }
    }
    if (scaler_skip_) {
      nlohmann::json rec = {{"kind", "skip"}, {"step", step_}, {"reason", skip_reason_},
                            {"skipped_steps", skipped_steps_}};
      rec.update(amp_stats);
      log.write(rec);
      if (scaler_->skipped_steps() <= 10 || scaler_->skipped_steps() % 100 == 0)
        progress.message(fmt::format("step {}: skipped, {}", step_ - 1, skip_reason_));
    } else if (!skip_reason_.empty()) {
      log.write({{"kind", "skip"}, {"step", step_}, {"reason", skip_reason_},
                 {"skipped_steps", skipped_steps_}});
      progress.message(fmt::format("step {}: skipped, {} (nan_policy = skip; {} skipped so far)",
                                   step_ - 1, skip_reason_, skipped_steps_));
    } else {
      nlohmann::json rec{{"kind", "step"}, {"step", step_}, {"loss", loss}, {"lr", lr},
                         {"grad_norm", last_grad_norm_}, {"ms", ms}, {"tokens_per_s", tps}};
      rec.update(amp_stats);
      if (dist) rec["allreduce_ms"] = last_allreduce_ms_, rec["wait_ms"] = last_wait_ms_;
      log.write(rec);
      progress.update(step_ - 1, loss, lr, tps, amp_line);
    }
    if (cfg_.ckpt_interval > 0 && step_ % cfg_.ckpt_interval == 0 && step_ < cfg_.max_iters)
      save_checkpoint_("interval");
    if (cfg_.ckpt_minutes > 0 && step_ < cfg_.max_iters &&
        std::chrono::steady_clock::now() - last_save >= std::chrono::duration<double>(60 * cfg_.ckpt_minutes))
      save_checkpoint_("time");
    if (dist ? stop_all_ : interrupt.requested()) {
      s.interrupted = true;
      break;
    }
  }
  progress.finish();
  if (prof) {
    // Shares of the training steps' time (evaluations and checkpoints excluded).
    std::unique_ptr<ProfileSession> done = std::move(prof);
    nlohmann::json shares = nlohmann::json::object();
    std::string table = "profile (share of training-step time):\n";
    for (auto& [kind, sec] : done->breakdown()) {
      shares[kind] = profiled_step_s > 0 ? sec / profiled_step_s : 0.0;
      table += fmt::format("  {:12s} {:6.1f}%  {:8.3f} ms/step\n", kind, 100 * shares[kind].get<double>(),
                           1000 * sec / std::max<size_t>(1, step_ms.size()));
    }
    double other = profiled_step_s - done->kernel_seconds();
    shares["other"] = profiled_step_s > 0 ? other / profiled_step_s : 0.0;
    table += fmt::format("  {:12s} {:6.1f}%  {:8.3f} ms/step (autograd, allocation, data)",
                         "other", 100 * shares["other"].get<double>(),
                         1000 * other / std::max<size_t>(1, step_ms.size()));
    s.profile = shares;
    progress.message(table);
  }
  interrupt_ = nullptr;
  if (!s.interrupted) do_eval();
  save_checkpoint_(s.interrupted ? "interrupt" : "final");
  if (s.interrupted)
    progress.message(fmt::format("interrupted at step {}: checkpoint saved to {} (resume with "
                                 "--resume)", step_, checkpoint_path()));

  std::vector<double> timed(step_ms.size() > 5 ? step_ms.begin() + 5 : step_ms.begin(), step_ms.end());
  s.ms_per_iter = median(timed);
  auto median_after_5 = [](const std::vector<double>& v) {
    return median(std::vector<double>(v.size() > 5 ? v.begin() + 5 : v.begin(), v.end()));
  };
  if (dist) s.allreduce_ms = median_after_5(allreduce_ms), s.wait_ms = median_after_5(wait_ms);
  s.tokens_per_s = s.ms_per_iter > 0 ? static_cast<double>(tokens_per_step) / (s.ms_per_iter / 1000.0) : 0;
  s.iters = step_;
  s.skipped_steps = skipped_steps_;
  s.precision = precision_;
  s.precision_kernel = std::string(tlm::precision_kernel(precision_));
  s.activation_bytes = activation_bytes_;
  if (scaler_) {
    s.loss_scale = scaler_->scale();
    s.scaler_skipped_steps = scaler_->skipped_steps();
  }
  s.train_loss = last.train_loss;
  s.val_loss = last.val_loss;
  s.peak_bytes = memory_stats().peak_bytes;
  s.peak_rss_bytes = peak_rss_bytes();
  return s;
}

}  // namespace tlm::train
