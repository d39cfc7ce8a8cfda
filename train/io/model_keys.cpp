#include "train/io/model_keys.h"

#include <algorithm>
#include <string_view>

#include "nn/choices.h"
#include "train/io/config.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A tokenizer's key that sets its vocabulary (bpe_vocab_size; TokenizerType::vocab_key).
bool vocab_key(std::string_view name) {
  for (const TokenizerType& t : tokenizer_registry().entries())
    if (!t.vocab_key.empty() && t.vocab_key == name) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& network_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const ConfigKey& k : config_keys()) {
      const std::string_view group = k.group;
      if ((group == "model" && !one_of(k.name, {"dropout"})) ||
          (group == "data" && (one_of(k.name, {"tokenizer", "tokenizer_file"}) || vocab_key(k.name))))
        out.emplace_back(k.name);
    }
    return out;
  }();
  return keys;
}

const std::vector<std::string>& model_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out = network_keys();
    for (const ConfigKey& k : config_keys())
      if (std::string_view(k.group) == "tuning" &&
          one_of(k.name, {"tune_method", "backbone", "lst_reduction", "lst_output", "lora_rank"}))
        out.emplace_back(k.name);
    return out;
  }();
  return keys;
}

bool weights_depend_on_block_size(const TrainConfig& cfg) {
  return nn::choice_of(cfg.pos).impl.learned_table;  // the pos entry's PositionForm (nn/choices.h)
}

}  // namespace tlm::train
