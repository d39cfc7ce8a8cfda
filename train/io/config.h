// TrainConfig: every knob of a training run, with nanoGPT's key names and CPU "baby" defaults.
//
//   TrainConfig cfg = TrainConfig::from_file("run.json");    // defaults + the file's keys
//   cfg.apply_overrides({"n_layer=6", "pos=rope"});          // --set key=value, then validate()
//   fmt::print("{}\n", cfg.to_json().dump(2));               // the resolved config
//   ck.meta["config"] = cfg.to_json();                       // and back: TrainConfig::from_json
//
// One table (config_keys(), config.cpp) lists each key once: name, type, default, allowed values
// or range, one-line help. A choice key is a typed member: nn/'s enums for the model's choices
// (norm, norm_type, pos, ffn, attn, attn_scale, attn_kernel, layout, lst_output; nn/choices.h)
// and train's for its own (tune_method, nan_policy, precision, activation_checkpointing,
// unseen_chars; train/io/run_choices.h), its names and parsing taken from the enum's family
// (config.cpp: choice()), so a name is parsed once, here. loss, optimizer, schedule, tokenizer and
// block stay names of their registries (why: run_choices.h), their allowed values the names in
// those registries, and the keys the norm types, positions, block types, losses,
// optimizers, schedules and tokenizers name are appended from those registries (each entry describes its own keys). Defaults, JSON loading, --set parsing, validation, to_json and the
// reference text (config_reference_markdown()) all read that table, so they cannot disagree.
// Errors name the key, the value and what is allowed:
//   config: unknown key 'n_layers' (did you mean 'n_layer'?)
//   config: norm = 'layer' is not allowed (allowed: pre, post, deepnorm)
//   config: n_embd = 130 is not divisible by n_head = 4
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "autograd/precision.h"
#include "nn/choices.h"
#include "nn/entry_key.h"
#include "train/io/run_choices.h"

namespace tlm::train {

struct TrainConfig {
  // ---- model ----
  int64_t n_layer, n_head, n_embd, block_size;
  double dropout;
  bool bias;
  nn::NormPlacement norm;
  nn::NormType norm_type;  // (the keys the norm types and positions name: entry_values)
  nn::Pos pos;
  nn::Ffn ffn;
  bool tie_weights;
  std::string block;  // a name of nn::block_registry()
  nn::AttnKind attn;
  nn::AttnScale attn_scale;
  nn::Layout layout;
  int64_t window;  // (the block types' keys: entry_values)
  // ---- data ----
  std::string data, tokenizer;  // (the tokenizer's keys: entry_values)
  std::string tokenizer_file;
  bool allow_binary;
  double val_fraction;
  // ---- training loop ----
  int64_t batch_size, max_iters, gradient_accumulation_steps;
  int64_t eval_interval, eval_iters, log_interval, ckpt_interval, seed;
  double ckpt_minutes;
  bool ckpt_best;
  std::string out_dir;
  NanPolicy nan_policy;
  // ---- optimizer and schedule (their own keys: entry_values) ----
  std::string optimizer;
  double learning_rate;
  std::string schedule;
  double weight_decay, grad_clip;
  std::string loss;  // (its keys: entry_values)
  // ---- fine-tuning (tlm tune, train/tune/tune.h) ----
  TuneMethod tune_method;
  std::string backbone;
  int64_t lst_reduction, lst_fisher_samples, lora_rank;
  double lst_gate_temperature, lora_alpha;
  UnseenChars unseen_chars;
  std::string unseen_replacement;
  nn::LstOutput lst_output;
  // ---- system ----
  int64_t threads;
  nn::AttnKernel attn_kernel;
  ActivationCheckpointing activation_checkpointing;  // none | blocks (autograd/checkpoint.h)
  Precision precision;
  std::string loss_scale;  // "dynamic" or a positive number (static scale), as written
  bool loss_scale_is_dynamic() const { return loss_scale == "dynamic"; }  // the one place it is read
  double loss_scale_init, loss_scale_growth, loss_scale_backoff, loss_scale_min;
  int64_t loss_scale_interval;
  double dist_bucket_mb;
  // ---- the keys the registries' entries name ----
  // The keys of the norm types and positions (nn/choices.h), the block types
  // (nn/block_registry.h), losses (nn/loss/registry.h), optimizers (optim/registry.h),
  // schedules (optim/schedule.h) and tokenizers (train/data/tokenizer.h) -- norm_eps,
  // rope_base, gau_expansion, label_smoothing, beta1, warmup_iters, bpe_vocab_size, ... -- by key
  // name, every one of them (not only the selected entry's), each at its default unless set.
  nn::KeyValues entry_values;
  double number(std::string_view key) const { return entry_values.number(key); }
  int64_t integer(std::string_view key) const { return entry_values.integer(key); }
  const std::string& text(std::string_view key) const { return entry_values.text(key); }

  TrainConfig();  // every key at its table default

  // Defaults overlaid with the keys of `j` (an object), then validate(). `source` names the
  // origin in errors ("run.json").
  static TrainConfig from_json(const nlohmann::json& j, std::string_view source = "");
  static TrainConfig from_file(const std::string& path);
  // The text of a config file (JSON, // and /* */ comments allowed): what from_file parses.
  static TrainConfig from_text(std::string_view text, std::string_view source);
  nlohmann::json to_json() const;

  // Parses `value` by the key's type and checks the key's own range or choices.
  void set(std::string_view key, std::string_view value);
  // Each item is "key=value" (the CLI's --set); validate() runs after all are applied.
  void apply_overrides(const std::vector<std::string>& assignments);
  // Every key's range/choices, then the cross-key rules (n_embd % n_head, warmup_iters <=
  // lr_decay_iters, min_lr <= learning_rate, an even head size for RoPE, the block type's own
  // check).
  void validate() const;
};

// loss_scale as a number: the value of a positive finite number, -1 for anything else.
double parse_loss_scale(std::string_view text);

// ---- the key table ----

using ConfigRange = nn::KeyRange;  // "[0, 1)", ">= 1", "> 0"

struct ConfigKey {
  // A typed choice member (an enum of a family, nn/choices.h): its value read as its name and
  // set from a name of `choices` (config.cpp builds one from the member's family).
  struct ChoiceField {
    std::function<const std::string&(const TrainConfig&)> name;
    std::function<void(TrainConfig&, const std::string&)> set;
  };
  // A key a registry entry names (nn/entry_key.h): its value is in TrainConfig::entry_values.
  struct EntryField {
    nn::KeyType type;
  };
  using Field = std::variant<int64_t TrainConfig::*, double TrainConfig::*, bool TrainConfig::*,
                             std::string TrainConfig::*, ChoiceField, EntryField>;
  std::string name;
  std::string group;          // "model", "data", "training", "optimizer", "loss", "system"
  Field field;
  std::string default_value;  // as it would be written after --set key=
  std::string help;
  ConfigRange range{};               // int and float keys
  std::vector<std::string> choices;  // choice keys and registry names; empty = any text

  int kind() const;                // 0 int, 1 float, 2 bool, 3 string (= nn::KeyType)
  std::string type_name() const;  // "int" | "float" | "bool" | "string" | "choice"
  std::string allowed() const;    // "integer >= 1", "pre, post, deepnorm", "true, false", ...
};

const std::vector<ConfigKey>& config_keys();
const ConfigKey* find_config_key(std::string_view name);  // nullptr if unknown
// The closest key name within a small edit distance, or "" (for "did you mean").
std::string suggest_config_key(std::string_view name);
// A Markdown reference of all keys, grouped, generated from the table.
std::string config_reference_markdown();

}  // namespace tlm::train
