// The nn::GPTConfig a TrainConfig describes: its model keys, and the values of the keys the
// model's registry entries name (nn::gpt_entry_keys: rope_base, norm_eps, gau_expansion, ...), carried
// over by name from TrainConfig::entry_values, so an entry's new key needs no line here.
//
//   nn::GPT model(gpt_config(cfg, tok->vocab_size()), init_rng);
#pragma once

#include <cstdint>

#include "nn/gpt.h"
#include "train/io/config.h"

namespace tlm::train {

// For a vocabulary of `vocab_size`; validated (GPTConfig::validate).
nn::GPTConfig gpt_config(const TrainConfig& cfg, int64_t vocab_size);

// The same without a vocabulary (0) and not validated: what TrainConfig::validate hands the
// block type's own check.
nn::GPTConfig unvalidated_gpt_config(const TrainConfig& cfg);

}  // namespace tlm::train
