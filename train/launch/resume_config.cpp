#include "train/launch/resume_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "nn/loss/registry.h"
#include "optim/schedule.h"
#include "tensor/error.h"
#include "train/io/model_keys.h"
#include "train/launch/run_dir.h"

namespace tlm::train {

namespace {

// The keys a resume may change (see the header); all others are fixed by the checkpoint.
const char* const kResumable[] = {
    // the loop
    "max_iters", "eval_interval", "eval_iters", "log_interval", "ckpt_interval", "ckpt_minutes",
    "ckpt_best", "out_dir", "nan_policy",
    // the schedule and the size of updates
    "learning_rate", "schedule", "grad_clip",
    "weight_decay", "dropout",
    // the batch
    "batch_size", "gradient_accumulation_steps",
    // the training loss (evaluation is always plain cross-entropy)
    "loss",
    // the system
    "threads", "attn_kernel", "activation_checkpointing", "precision", "loss_scale", "loss_scale_init", "loss_scale_growth",
    "loss_scale_interval", "loss_scale_backoff", "loss_scale_min", "dist_bucket_mb"};

std::string as_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Also every key a loss or a schedule names (their registries): the loss trains, the schedule
// sets the learning rate per step; neither defines the model or the optimizer's state.
bool names_key(const std::vector<nn::EntryKey>& keys, std::string_view key) {
  return std::any_of(keys.begin(), keys.end(), [&](const nn::EntryKey& k) { return k.name == key; });
}

}  // namespace

bool resumable_key(std::string_view key, const TrainConfig& saved) {
  return std::find(std::begin(kResumable), std::end(kResumable), key) != std::end(kResumable) ||
         names_key(nn::entry_keys(nn::loss_registry()), key) ||
         names_key(nn::entry_keys(optim::schedule_registry()), key) ||
         (key == "block_size" && !weights_depend_on_block_size(saved));
}

TrainConfig resume_config(const nlohmann::json& saved_json, const nlohmann::json& file_keys,
                          const std::vector<std::string>& sets, const std::string& checkpoint) {
  TrainConfig cfg = TrainConfig::from_json(saved_json, checkpoint);
  const nlohmann::json saved = cfg.to_json();  // every key, the checkpoint's values
  // The user's assignments in order: the config file's keys, then --set.
  std::vector<std::pair<std::string, std::string>> assignments;
  if (file_keys.is_object())
    for (const auto& [k, v] : file_keys.items()) assignments.emplace_back(k, as_text(v));
  for (const std::string& a : sets) {
    const size_t eq = a.find('=');
    TLM_CHECK(eq != std::string::npos && eq > 0, "config: override '{}' is not of the form "
              "key=value", a);
    assignments.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  std::vector<std::string> refused;  // "n_layer (6 -> 4)"
  for (auto& [key, text] : assignments) {
    TrainConfig probe = cfg;
    probe.set(key, text);  // the key's type and range (unknown keys: an error with a suggestion)
    nlohmann::json value = probe.to_json().at(key);
    if (key == "data") value = absolute_data_path(value.get<std::string>());
    if (value == saved.at(key) || resumable_key(key, cfg)) {  // later assignments win, as in --set
      cfg.set(key, as_text(value));
      continue;
    }
    const std::string item = fmt::format("{} ({} -> {})", key, saved.at(key).dump(), value.dump());
    if (std::find(refused.begin(), refused.end(), item) == refused.end()) refused.push_back(item);
  }
  if (!refused.empty()) {
    std::string list;
    for (const std::string& r : refused) list += (list.empty() ? "" : ", ") + r;
    TLM_FAIL("resume: {} cannot change {} on resume: {} the model, data, tokenizer or optimizer "
             "the checkpoint was trained with. Drop {} (--resume takes every key from the "
             "checkpoint; `tlm info --ckpt {}` prints them), or start a new run with another "
             "out_dir", checkpoint, list, refused.size() == 1 ? "it defines" : "they define",
             refused.size() == 1 ? "it" : "them", checkpoint);
  }
  cfg.validate();
  return cfg;
}

}  // namespace tlm::train
