// The config of a resumed run: every key from the checkpoint, except the keys the user names on
// the command line (--config file keys, --set) that a resume may change.
//
//   tlm train --set data=small.txt --set n_layer=6 --set out_dir=X      // a run
//   tlm train --set out_dir=X --resume --set max_iters=4000             // data, n_layer from X
//   tlm train --set out_dir=X --resume --set n_layer=4 --set data=b.txt
//     -> resume: X/ckpt.bin cannot change n_layer (6 -> 4), data (...) on resume: ...
//
// May change: the loop (max_iters, evaluation, logging and checkpoint intervals, nan_policy,
// out_dir), the schedule and update sizes (learning_rate, min_lr, warmup_iters, lr_decay_iters,
// grad_clip, weight_decay), the batch (batch_size, gradient_accumulation_steps), the loss keys
// (a resume may switch the training loss, e.g. to emo), dropout, and the system keys (threads,
// attn_kernel, precision and its loss scaling, dist_bucket_mb), and block_size when no weight
// depends on it (pos = rope or none: train/io/model_keys.h; train short, continue long).
// Everything else defines the
// model, the data, the tokenizer or the optimizer state and is refused, every such key at once.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "train/io/config.h"

namespace tlm::train {

// Whether `key` may differ between a checkpoint trained with `saved` and the run that resumes it
// (the list above; block_size only when weights_depend_on_block_size(saved) is false). Both the
// command line's resume config and Trainer::restore_ ask this.
bool resumable_key(std::string_view key, const TrainConfig& saved);

// The checkpoint's config `saved` with the user's keys applied: `file_keys` (the keys of a
// --config file, an object; may be null) then `sets` ("key=value"). Keys whose value equals the
// saved one are fine; a changed key that is not resumable is refused, all of them named in one
// error. `data` is compared as an absolute path.
TrainConfig resume_config(const nlohmann::json& saved, const nlohmann::json& file_keys,
                          const std::vector<std::string>& sets, const std::string& checkpoint);

}  // namespace tlm::train
