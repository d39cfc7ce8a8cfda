#include "train/io/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "nn/block_registry.h"
#include "nn/choices.h"
#include "nn/loss/registry.h"
#include "optim/registry.h"
#include "optim/schedule.h"
#include "tensor/error.h"
#include "train/sys/file_io.h"
#include "train/io/model_config.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

namespace {

// "char: one id per character of the data; bpe: ...": the tokenizer key's help, from each
// entry's own help line (train/data/tokenizer.cpp).
const char* tokenizer_help() {
  static const std::string help = [] {
    std::string h;
    for (const TokenizerType& t : tokenizer_registry().entries())
      h += fmt::format("{}{}: {}", h.empty() ? "" : "; ", t.name, t.help);
    return h;
  }();
  return help.c_str();
}

using C = TrainConfig;

using nn::KeyRange;
ConfigRange at_least(double lo) { return KeyRange::at_least(lo); }
ConfigRange above(double lo) { return KeyRange::above(lo); }
ConfigRange closed(double lo, double hi) { return KeyRange::closed(lo, hi); }
ConfigRange half_open(double lo, double hi) { return KeyRange::half_open(lo, hi); }
ConfigRange open(double lo, double hi) { return KeyRange::open(lo, hi); }

constexpr double kMaxSeed = 9007199254740992.0;  // 2^53: exact in a JSON double

ConfigKey key(const char* name, const char* group, ConfigKey::Field field, const char* def,
              const char* help, ConfigRange range = {}, std::vector<std::string> choices = {}) {
  return ConfigKey{name, group, field, def, help, range, std::move(choices)};
}

// A typed choice key: the enum member's value is read and set as a name of its family, the
// family's names are the allowed values. (A value cast from an integer that names no entry
// reads as an error naming the key.)
template <class E>
ConfigKey choice(const char* name, const char* group, E TrainConfig::*member, const char* def,
                 const char* help) {
  const auto& family = nn::choices<E>();
  TLM_CHECK(family.key() == name, "config: key '{}' takes its choices from the family of key '{}'",
            name, family.key());
  ConfigKey::ChoiceField field{
      [member](const TrainConfig& c) -> const std::string& {
        const nn::Choice<E>* e = nn::find_choice(c.*member);
        TLM_CHECK(e != nullptr, "config: {} = {} is not allowed (allowed: {})", nn::choices<E>().key(),
                  static_cast<int>(c.*member), fmt::join(nn::choices<E>().names(), ", "));
        return e->name;
      },
      [member](TrainConfig& c, const std::string& value) { c.*member = nn::parse<E>(value); }};
  return ConfigKey{name, group, std::move(field), def, help, {}, family.names()};
}

// The keys TrainConfig holds as fields. Defaults are nanoGPT's train_shakespeare_char CPU
// recipe (docs/methods.md, "Reference recipe").
std::vector<ConfigKey> fixed_keys() {
  return {
      // model
      key("n_layer", "model", &C::n_layer, "4", "Transformer blocks", closed(1, 1024)),
      key("n_head", "model", &C::n_head, "4", "attention heads per block (must divide n_embd)", closed(1, 1024)),
      key("n_embd", "model", &C::n_embd, "128", "model width C", closed(1, 65536)),
      key("block_size", "model", &C::block_size, "64", "context length T in tokens", closed(1, 1 << 20)),
      key("dropout", "model", &C::dropout, "0.0", "dropout probability (embeddings, attention, residuals)", half_open(0, 1)),
      key("bias", "model", &C::bias, "true", "biases in Linear and LayerNorm (false: nanoGPT's bias-free layout)"),
      choice("norm", "model", &C::norm, "pre", "normalisation placement: Pre-LN, Post-LN or DeepNorm (arXiv:2203.00555)"),
      choice("norm_type", "model", &C::norm_type, "layernorm", "normalisation layer"),
      // + the keys of the norm types (nn/choices.h: norm_eps)
      choice("pos", "model", &C::pos, "learned", "position information: learned absolute, rotary (arXiv:2104.09864) or none"),
      // + the keys of the positions (nn/choices.h: rope_base)
      choice("ffn", "model", &C::ffn, "gelu", "feed-forward: GELU MLP 4C (gelu_tanh: GPT-2's tanh form), or gated GEGLU / SwiGLU (arXiv:2002.05202)"),
      key("tie_weights", "model", &C::tie_weights, "true", "share the token embedding with the output projection"),
      key("block", "model", &C::block, "transformer", "layer type: attention + MLP, or FLASH's gated attention unit GAU (arXiv:2202.10447)", {}, nn::block_registry().names()),
      // + the keys of the block types (nn/block_registry.h), appended here by table()
      choice("attn", "model", &C::attn, "softmax", "attention normalisation: softmax, or relu(cS)^2/n with n the visible keys (FLASH)"),
      choice("attn_scale", "model", &C::attn_scale, "sqrt", "score scale: 1/sqrt(d), or log_{block_size}(n)/sqrt(d) (entropy-invariant, =1/sqrt(d) at the training length)"),
      key("window", "model", &C::window, "0", "sliding-window causal attention over this many keys (0: full; at most block_size)", closed(0, 1 << 20)),
      choice("layout", "model", &C::layout, "uniform", "hwfa: window + RoPE layers under one full, position-free, log-n layer (HWFA; needs pos = rope, window > 0)"),
      // data
      key("data", "data", &C::data, "", "training text file (empty: the built-in corpus, Debian's fortunes), a directory written by tlm prepare (memory-mapped train.bin/val.bin), or a built-in task: probe:position, probe:position_bos, task:copy, task:recall"),
      key("tokenizer", "data", &C::tokenizer, "char", tokenizer_help(), {}, tokenizer_registry().names()),
      // + the keys of the tokenizers (train/data/tokenizer.h)
      key("tokenizer_file", "data", &C::tokenizer_file, "", "a tokenizer file written by `tlm tokenize` (its kind and vocabulary replace tokenizer and bpe_vocab_size); empty: train one on the data"),
      key("allow_binary", "data", &C::allow_binary, "false", "train on a file even if it is mostly not UTF-8 text (invalid UTF-8 or control bytes)"),
      key("val_fraction", "data", &C::val_fraction, "0.1", "fraction of tokens held out for validation (the last ones)", open(0, 1)),
      // training loop
      key("batch_size", "training", &C::batch_size, "12", "sequences per micro-batch B", at_least(1)),
      key("max_iters", "training", &C::max_iters, "2000", "optimizer steps", at_least(1)),
      key("gradient_accumulation_steps", "training", &C::gradient_accumulation_steps, "1", "micro-batches per optimizer step", at_least(1)),
      key("eval_interval", "training", &C::eval_interval, "250", "steps between evaluations, each followed by a checkpoint (0: only at the end)", at_least(0)),
      key("eval_iters", "training", &C::eval_iters, "20", "batches per split per evaluation (0: no evaluation)", at_least(0)),
      key("log_interval", "training", &C::log_interval, "10", "steps between log lines", at_least(1)),
      key("ckpt_interval", "training", &C::ckpt_interval, "0", "steps between extra checkpoints (0: none; a checkpoint is also written at every evaluation step, every ckpt_minutes, on Ctrl-C and at the end)", at_least(0)),
      key("ckpt_minutes", "training", &C::ckpt_minutes, "10", "wall-clock minutes between checkpoints (0: off), so a kill loses at most this much", at_least(0)),
      key("ckpt_best", "training", &C::ckpt_best, "false", "also keep out_dir/ckpt_best.bin: the checkpoint of the lowest validation loss so far"),
      key("seed", "training", &C::seed, "1337", "seed of the one Rng (init, dropout, batches)", closed(0, kMaxSeed)),
      key("out_dir", "training", &C::out_dir, "out", "directory for checkpoints, tokenizer and logs"),
      choice("nan_policy", "training", &C::nan_policy, "stop", "a NaN/inf loss or gradient: stop naming the step, or skip the step (no update; counted and logged)"),
      // optimizer and schedule
      key("optimizer", "optimizer", &C::optimizer, "adamw", "update rule (Lion: arXiv:2302.06675)", {}, optim::optimizer_names()),
      // + the keys of the optimizers (optim/registry.h), appended here by table()
      key("learning_rate", "optimizer", &C::learning_rate, "1e-3", "peak learning rate", above(0)),
      key("schedule", "optimizer", &C::schedule, "cosine", "learning-rate schedule after warmup", {}, optim::schedule_names()),
      // + the keys of the schedules (optim/schedule.h)
      key("weight_decay", "optimizer", &C::weight_decay, "0.1", "decoupled weight decay (tensors with >= 2 dims only)", at_least(0)),
      key("grad_clip", "optimizer", &C::grad_clip, "1.0", "clip the global gradient norm to this (0: off)", at_least(0)),
      key("loss", "loss", &C::loss, "ce", "training loss (docs/methods.md, \"Losses\"; evaluation always reports plain cross-entropy)", {}, nn::lm_loss_names()),
      // + the keys of the losses (nn/loss/registry.h)
      // fine-tuning (tlm tune; train/tune/tune.h; docs/methods.md, "LoRA", "Ladder Side-Tuning")
      choice("tune_method", "tuning", &C::tune_method, "none", "fine-tune the checkpoint `backbone`: all weights, LoRA adapters, or a Ladder Side-Tuning side network (none: train from scratch)"),
      key("backbone", "tuning", &C::backbone, "", "the pretrained checkpoint to fine-tune (tlm tune --ckpt); its file hash is stored and checked"),
      key("lst_reduction", "tuning", &C::lst_reduction, "8", "LST: side width n_embd / r (r must divide n_embd, the head size and the MLP hidden size)", closed(1, 65536)),
      key("lst_gate_temperature", "tuning", &C::lst_gate_temperature, "0.1", "LST: T of the ladder gates mu = sigmoid(alpha / T)", above(0)),
      key("lst_fisher_samples", "tuning", &C::lst_fisher_samples, "1024", "LST: train windows (batch 1) whose summed squared gradients (empirical Fisher) score the backbone for the pruned side init, as in the paper (0: weight magnitude)", closed(0, 1 << 24)),
      choice("lst_output", "tuning", &C::lst_output, "side", "LST: logits from the side network alone (the paper), or the backbone's output plus the side's correction (starts as the backbone)"),
      key("lora_rank", "tuning", &C::lora_rank, "8", "LoRA: rank r of the update B A on every attention and MLP Linear", closed(1, 65536)),
      key("lora_alpha", "tuning", &C::lora_alpha, "16", "LoRA: the update is scaled by lora_alpha / lora_rank", above(0)),
      choice("unseen_chars", "tuning", &C::unseen_chars, "refuse", "characters of the tuning text the backbone's tokenizer lacks: refuse, or replace each by unseen_replacement"),
      key("unseen_replacement", "tuning", &C::unseen_replacement, " ", "unseen_chars = replace: the text that replaces an unseen character (must be one token of the backbone)"),
      // system
      key("threads", "system", &C::threads, "0", "OpenMP/BLAS threads (0: all cores)", closed(0, 4096)),
      choice("attn_kernel", "system", &C::attn_kernel, "fused", "softmax attention: one tiled kernel with an online softmax, memory linear in the context (FlashAttention), or the plain matmul + causal softmax + matmul; the same values either way. Attention dropout, probes, relu2 and bf16/fp16 always run the plain path"),
      choice("activation_checkpointing", "system", &C::activation_checkpointing, "none", "blocks: keep only each block's input during forward and recompute the block in backward (autograd/checkpoint.h): less activation memory for a second forward of each block; the same gradients (to the bit for pre-norm and GAU, to float32 rounding for post and deepnorm)"),
      choice("precision", "system", &C::precision, "fp32", "mixed precision emulation (docs/methods.md, \"bf16 and fp16\"): matmul inputs, backward gradients through matmuls and saved activations in bf16/fp16 (stored as 16-bit), fp32 accumulation, softmax/norms/losses and master weights"),
      // mixed precision: fp16 loss scaling (optim/loss_scaler.h); ignored unless precision = fp16
      key("loss_scale", "system", &C::loss_scale, "dynamic", "precision = fp16: dynamic loss scaling, or a positive number as a static scale (1: no scaling)"),
      key("loss_scale_init", "system", &C::loss_scale_init, "65536", "loss_scale = dynamic: initial scale S0", {0, 18446744073709551616.0, true, false}),
      key("loss_scale_growth", "system", &C::loss_scale_growth, "2", "loss_scale = dynamic: S *= this after loss_scale_interval finite steps", above(1)),
      key("loss_scale_interval", "system", &C::loss_scale_interval, "2000", "loss_scale = dynamic: consecutive finite steps before the scale grows", at_least(1)),
      key("loss_scale_backoff", "system", &C::loss_scale_backoff, "0.5", "loss_scale = dynamic: S *= this on an inf/NaN gradient (the step is skipped)", open(0, 1)),
      key("loss_scale_min", "system", &C::loss_scale_min, "1", "loss_scale = dynamic: the floor; an overflow at the floor stops the run naming the step", above(0)),
      // data-parallel training under mpirun (docs/distributed.md)
      key("dist_bucket_mb", "system", &C::dist_bucket_mb, "64", "mpirun -np N: gradients are averaged in all-reduce buckets of at most this many MiB (0: one per tensor)", closed(0, 4096)),
  };
}

// The keys a registry's entries name, as config keys of `group` (values in entry_values).
std::vector<ConfigKey> registry_keys(const std::vector<nn::EntryKey>& keys, const char* group) {
  std::vector<ConfigKey> out;
  for (const nn::EntryKey& k : keys)
    out.push_back(ConfigKey{k.name, group, ConfigKey::EntryField{k.type}, k.default_value, k.help,
                            k.range, {}});
  return out;
}

// The table: the fixed keys, with the keys of each registry's entries right after the key that
// selects the entry (norm_type, pos, block, optimizer, schedule, loss, tokenizer). Built once, on first use -- after static
// initialisation, so entries a program registers from its own file (examples/) are in it.
const std::vector<ConfigKey>& table() {
  static const std::vector<ConfigKey> keys = [] {
    const std::pair<const char*, std::vector<ConfigKey>> after[] = {
        {"norm_type", registry_keys(nn::entry_keys(nn::choices<nn::NormType>()), "model")},
        {"pos", registry_keys(nn::entry_keys(nn::choices<nn::Pos>()), "model")},
        {"block", registry_keys(nn::entry_keys(nn::block_registry()), "model")},
        {"optimizer", registry_keys(nn::entry_keys(optim::optimizer_registry()), "optimizer")},
        {"schedule", registry_keys(nn::entry_keys(optim::schedule_registry()), "optimizer")},
        {"loss", registry_keys(nn::entry_keys(nn::loss_registry()), "loss")},
        {"tokenizer", registry_keys(nn::entry_keys(tokenizer_registry()), "data")},
    };
    std::vector<ConfigKey> out;
    for (ConfigKey& k : fixed_keys()) {
      out.push_back(std::move(k));
      for (const auto& [name, extra] : after)
        if (out.back().name == name) out.insert(out.end(), extra.begin(), extra.end());
    }
    for (size_t i = 0; i < out.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        TLM_CHECK(out[i].name != out[j].name, "config: key '{}' is defined twice (a registry entry "
                  "names a key the config already has)", out[i].name);
    return out;
  }();
  return keys;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string where_suffix(std::string_view source) {
  return source.empty() ? std::string() : fmt::format(" in '{}'", source);
}

const ConfigKey& key_or_throw(std::string_view name, std::string_view source) {
  if (const ConfigKey* k = find_config_key(name)) return *k;
  const std::string guess = suggest_config_key(name);
  if (!guess.empty())
    TLM_FAIL("config: unknown key '{}'{} (did you mean '{}'?)", name, where_suffix(source), guess);
  std::string names;
  for (const auto& k : table()) names += fmt::format("{}{}", names.empty() ? "" : ", ", k.name);
  TLM_FAIL("config: unknown key '{}'{} (known keys: {})", name, where_suffix(source), names);
}

[[noreturn]] void bad_value(const ConfigKey& k, std::string_view shown, std::string_view why,
                            std::string_view source) {
  TLM_FAIL("config: {} = {}{} {} (allowed: {})", k.name, shown, where_suffix(source), why,
           k.allowed());
}

void check_number(const ConfigKey& k, double v, std::string_view shown, std::string_view source) {
  // inf passes a ">= 0" range, but JSON cannot hold it: the config saved in a checkpoint
  // would come back as null and the checkpoint would not load.
  if (!std::isfinite(v)) bad_value(k, shown, "is not a finite number", source);
  if (!k.range.contains(v)) bad_value(k, shown, "is out of range", source);
}

void check_choice(const ConfigKey& k, const std::string& v, std::string_view source) {
  if (k.choices.empty()) return;
  if (std::find(k.choices.begin(), k.choices.end(), v) == k.choices.end())
    bad_value(k, fmt::format("'{}'", v), "is not allowed", source);
}

// A key's value, whichever kind of key (a field of TrainConfig or an entry's key): the
// alternatives of nn::KeyValue are int64_t, double, bool, std::string = ConfigKey::kind().
using nn::KeyValue;

KeyValue load(const TrainConfig& cfg, const ConfigKey& k) {
  return std::visit(
      [&](auto field) -> KeyValue {
        if constexpr (std::is_same_v<decltype(field), ConfigKey::EntryField>) {
          const KeyValue* v = cfg.entry_values.find(k.name);
          TLM_CHECK(v != nullptr, "config: key '{}' has no value", k.name);
          return *v;
        } else if constexpr (std::is_same_v<decltype(field), ConfigKey::ChoiceField>) {
          return field.name(cfg);
        } else {
          return cfg.*field;
        }
      },
      k.field);
}

// Stores a value of the key's kind, after the key's own check (range or choices).
void store(TrainConfig& cfg, const ConfigKey& k, KeyValue v, std::string_view shown,
           std::string_view source) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) check_number(k, static_cast<double>(*i), shown, source);
  if (const double* d = std::get_if<double>(&v)) check_number(k, *d, shown, source);
  if (const std::string* t = std::get_if<std::string>(&v)) check_choice(k, *t, source);
  std::visit(
      [&](auto field) {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, ConfigKey::EntryField>) {
          cfg.entry_values.set(k.name, std::move(v));
        } else if constexpr (std::is_same_v<F, ConfigKey::ChoiceField>) {
          field.set(cfg, std::get<std::string>(v));  // a name of the family (check_choice above)
        } else {
          using T = std::remove_reference_t<decltype(cfg.*field)>;
          cfg.*field = std::get<T>(std::move(v));
        }
      },
      k.field);
}

void set_text(TrainConfig& cfg, const ConfigKey& k, std::string_view value, std::string_view source) {
  const std::string shown = fmt::format("'{}'", value);
  const char* b = value.data();
  const char* e = value.data() + value.size();
  switch (k.kind()) {
    case 0: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || value.empty()) bad_value(k, shown, "is not an integer", source);
      return store(cfg, k, v, shown, source);
    }
    case 1: {
      double v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || value.empty() || std::isnan(v))
        bad_value(k, shown, "is not a number", source);
      return store(cfg, k, v, shown, source);
    }
    case 2:
      if (value == "true" || value == "1") return store(cfg, k, true, shown, source);
      if (value == "false" || value == "0") return store(cfg, k, false, shown, source);
      bad_value(k, shown, "is not a boolean", source);
    default: return store(cfg, k, std::string(value), shown, source);
  }
}

void set_json(TrainConfig& cfg, const ConfigKey& k, const nlohmann::json& j, std::string_view source) {
  const std::string shown = j.dump();
  switch (k.kind()) {
    case 0: {
      int64_t v = 0;
      if (j.is_number_integer()) {
        if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX))
          bad_value(k, shown, "is out of range", source);
        v = j.get<int64_t>();
      } else if (j.is_number_float() && std::abs(j.get<double>()) < 9e15 &&
                 j.get<double>() == std::floor(j.get<double>())) {
        v = static_cast<int64_t>(j.get<double>());  // 2e3 in a JSON file
      } else {
        bad_value(k, shown, "is not an integer", source);
      }
      return store(cfg, k, v, shown, source);
    }
    case 1:
      if (!j.is_number()) bad_value(k, shown, "is not a number", source);
      return store(cfg, k, j.get<double>(), shown, source);
    case 2:
      if (!j.is_boolean()) bad_value(k, shown, "is not a boolean", source);
      return store(cfg, k, j.get<bool>(), shown, source);
    default:
      if (!j.is_string()) bad_value(k, shown, "is not a string", source);
      return store(cfg, k, j.get<std::string>(), shown, source);
  }
}

}  // namespace

// ---- ConfigKey ----

int ConfigKey::kind() const {
  if (const auto* e = std::get_if<EntryField>(&field)) return static_cast<int>(e->type);
  if (std::holds_alternative<ChoiceField>(field)) return 3;  // its value is read and set as a name
  return static_cast<int>(field.index());
}

std::string ConfigKey::type_name() const {
  switch (kind()) {
    case 0: return "int";
    case 1: return "float";
    case 2: return "bool";
    default: return choices.empty() ? "string" : "choice";
  }
}

std::string ConfigKey::allowed() const {
  switch (kind()) {
    case 0: return "integer " + range.str();
    case 1: return "number " + range.str();
    case 2: return "true, false";
    default: break;
  }
  if (choices.empty()) return "any text";
  std::string s;
  for (const auto& c : choices) s += (s.empty() ? "" : ", ") + c;
  return s;
}

const std::vector<ConfigKey>& config_keys() { return table(); }

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& k : table())
    if (name == k.name) return &k;
  return nullptr;
}

std::string suggest_config_key(std::string_view name) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& k : table()) {
    size_t d = edit_distance(name, k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  return best_d <= limit ? best : std::string();
}

// ---- TrainConfig ----

TrainConfig::TrainConfig() {
  for (const auto& k : table()) set_text(*this, k, k.default_value, "the defaults");
}

void TrainConfig::set(std::string_view key, std::string_view value) {
  set_text(*this, key_or_throw(key, ""), value, "");
}

void TrainConfig::apply_overrides(const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments) {
    const size_t eq = a.find('=');
    TLM_CHECK(eq != std::string::npos && eq > 0,
              "config: override '{}' is not of the form key=value", a);
    set(std::string_view(a).substr(0, eq), std::string_view(a).substr(eq + 1));
  }
  validate();
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j, std::string_view source) {
  TLM_CHECK(j.is_object(), "config:{} expected a JSON object of key: value, got {}",
            where_suffix(source), j.type_name());
  TrainConfig cfg;
  for (const auto& [name, value] : j.items()) set_json(cfg, key_or_throw(name, source), value, source);
  cfg.validate();
  return cfg;
}

TrainConfig TrainConfig::from_file(const std::string& path) {
  return from_text(read_file(path, "config"), path);
}

TrainConfig TrainConfig::from_text(std::string_view text, std::string_view source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("config: '{}' is not valid JSON: {}", source, e.what());
  }
  return from_json(j, source);
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& k : table())
    std::visit([&](const auto& v) { j[k.name] = v; }, load(*this, k));
  return j;
}

double parse_loss_scale(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0) return -1;
  return v;
}

void TrainConfig::validate() const {
  // Each key on its own (fields may have been assigned directly in code).
  for (const auto& k : table()) {
    const KeyValue v = load(*this, k);
    if (const int64_t* i = std::get_if<int64_t>(&v)) check_number(k, static_cast<double>(*i), fmt::format("{}", *i), "");
    if (const double* d = std::get_if<double>(&v)) check_number(k, *d, fmt::format("{}", *d), "");
    if (const std::string* t = std::get_if<std::string>(&v)) check_choice(k, *t, "");
  }
  // Across keys.
  // The selected tokenizer's rules across its keys (gpt2 needs tokenizer_dir).
  if (const auto& check = tokenizer_registry().get(tokenizer).check) check(entry_values);
  TLM_CHECK(n_embd % n_head == 0, "config: n_embd = {} is not divisible by n_head = {}", n_embd,
            n_head);
  TLM_CHECK(!nn::rotates_pairs(pos) || (n_embd / n_head) % 2 == 0,
            "config: pos = {} needs an even head size, but n_embd / n_head = {} / {} = {}",
            nn::name_of(pos), n_embd, n_head, n_embd / n_head);
  TLM_CHECK(window <= block_size,
            "config: window = {} is larger than the context block_size = {} (allowed: 0 = full, "
            "1 .. block_size)", window, block_size);
  TLM_CHECK(layout != nn::Layout::Hwfa || (pos == nn::Pos::Rope && window > 0 && n_layer >= 2),
            "config: layout = hwfa needs pos = rope, window > 0 and n_layer >= 2 (got pos = {}, "
            "window = {}, n_layer = {})", nn::name_of(pos), window, n_layer);
  TLM_CHECK(attn_scale != nn::AttnScale::LogN || block_size >= 2,
            "config: attn_scale = logn needs block_size >= 2 (log base block_size), got {}",
            block_size);
  TLM_CHECK(tune_method == TuneMethod::None || !backbone.empty(),
            "config: tune_method = {} needs backbone = the checkpoint to fine-tune",
            nn::name_of(tune_method));
  TLM_CHECK(tune_method != TuneMethod::Lst || n_embd % lst_reduction == 0,
            "config: lst_reduction = {} does not divide n_embd = {} (the side width is n_embd / "
            "lst_reduction)", lst_reduction, n_embd);
  TLM_CHECK(unseen_chars != UnseenChars::Replace || !unseen_replacement.empty(),
            "config: unseen_chars = replace needs a non-empty unseen_replacement");
  TLM_CHECK(loss_scale_is_dynamic() || parse_loss_scale(loss_scale) > 0,
            "config: loss_scale = {} is not 'dynamic' or a positive finite number (allowed: "
            "dynamic, or a number > 0 such as 1024; 1 = no scaling)", loss_scale);
  TLM_CHECK(loss_scale_min <= loss_scale_init,
            "config: loss_scale_min = {} exceeds loss_scale_init = {} (allowed: loss_scale_min "
            "<= loss_scale_init)", loss_scale_min, loss_scale_init);
  // The selected block type's own rules (gau: an even gau_attn_size under RoPE).
  if (const auto& check = nn::block_registry().get(block).check) check(unvalidated_gpt_config(*this));
  // The selected schedule's own rules across its keys (cosine: warmup_iters <= lr_decay_iters,
  // min_lr <= learning_rate).
  if (const auto& check = optim::schedule_registry().get(schedule).check) check(learning_rate, entry_values);
}

std::string config_reference_markdown() {
  std::string md =
      "# tlm configuration keys\n\n"
      "Set in a JSON file (`{\"n_layer\": 6}`) or with `--set key=value`; unset keys keep the "
      "default.\nGenerated from the key table in `train/io/config.cpp`.\n";
  std::string group;
  for (const auto& k : table()) {
    if (k.group != group) {
      group = k.group;
      md += fmt::format("\n## {}\n\n| key | type | default | allowed | description |\n"
                        "|---|---|---|---|---|\n",
                        group);
    }
    const std::string def = !k.default_value.empty() ? fmt::format("`{}`", k.default_value) : "(empty)";
    md += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.name, k.type_name(), def, k.allowed(),
                      k.help);
  }
  return md;
}

}  // namespace tlm::train
