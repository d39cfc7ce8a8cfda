// The config keys that define a model, derived from the key table (config_keys()) rather than
// listed by hand, so a new architecture key is covered as soon as it joins the "model" group.
//
//   for (const std::string& key : model_keys()) ...  // resume / load: must equal the checkpoint's
#pragma once

#include <string>
#include <vector>

#include "train/io/config.h"

namespace tlm::train {

// The keys that decide the network's weights and its token ids: every key of the "model" group
// except dropout (a regulariser: no weight depends on it), and the tokenizer keys (tokenizer,
// tokenizer_file, and each tokenizer's vocab_key: bpe_vocab_size, train/data/tokenizer.h). A tuned model must have its backbone's values (train/tune/tune.h).
const std::vector<std::string>& network_keys();

// network_keys() and the tuning keys that decide what was trained on top of a backbone
// (tune_method, backbone, lst_reduction, lst_output, lora_rank): a checkpoint can only be
// resumed, evaluated or sampled under the values it was trained with.
const std::vector<std::string>& model_keys();

// Whether a weight's shape depends on block_size: only a learned position table (the pos
// entry's PositionForm::learned_table, i.e. pos = learned). A RoPE or position-free model has the same weights at every context, so a resume
// may continue it at another block_size (context extension: train short, then long).
bool weights_depend_on_block_size(const TrainConfig& cfg);

}  // namespace tlm::train
