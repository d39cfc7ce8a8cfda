// What a training checkpoint holds, without building its model: `tlm info --ckpt FILE`.
//
//   nlohmann::json j = checkpoint_info("out/ckpt.bin");
//   // {"path", "bytes", "file_crc32", "step", "skipped_steps", "losses": {"step", "train_loss",
//   //  "val_loss"}, "best_val_loss", "params", "optimizer", "optimizer_state_values",
//   //  "data_file": {"path", "bytes", "crc32"}, "tokenizer", "vocab_size", "config": {...}}
//   fmt::print("{}", checkpoint_info_text(j));   // the same, for people
//
// params counts the model tensors stored (model.*: for a tuned checkpoint, what was trained).
// file_crc32 is the checksum the file ends with (train/io/checkpoint.h), so two files with the
// same value hold the same bytes; data_file is the training text's fingerprint
// (train/launch/run_dir.h), absent in checkpoints written before it existed.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tlm::train {

nlohmann::json checkpoint_info(const std::string& path);
std::string checkpoint_info_text(const nlohmann::json& info);

}  // namespace tlm::train
