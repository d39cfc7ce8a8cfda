// A run's directory (out_dir) and the data file it was trained on: what a new run may do to a
// directory that already holds a run, and how a checkpoint names its data so that a moved or
// changed file is caught.
//
//   prepare_out_dir(cfg.out_dir, RunStart::Fresh, "train");   // refuses: out/ holds a run ...
//   nlohmann::json fp = data_fingerprint(cfg.data, text);     // {"path", "bytes", "crc32"}
//   check_data_fingerprint(ck.meta.at("data_file"), text, "out/ckpt.bin");
//
// Files of a run: ckpt.bin (the last checkpoint), ckpt_best.bin (ckpt_best = true) and
// log.jsonl (appended, never truncated by tlm).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlm::train {

enum class RunStart {
  Fresh,      // a new run: out_dir must not hold a run's files
  Resume,     // continue out_dir/ckpt.bin (which must exist)
  Overwrite,  // a new run that replaces the run in out_dir (--overwrite): its files are removed
};

// The run files present in out_dir (ckpt.bin, ckpt_best.bin, log.jsonl), as paths.
std::vector<std::string> run_files(const std::string& out_dir);

// Checks (and for Overwrite, clears) out_dir before `command` (train, tune) starts. Fresh into a
// directory holding a run: an error naming the files, the checkpoint's step, --resume, --overwrite
// and a fresh out_dir. Resume without out_dir/ckpt.bin: an error naming the path.
void prepare_out_dir(const std::string& out_dir, RunStart start, std::string_view command);

// `data` as a checkpoint stores it: an absolute path for a file; empty (the built-in corpus) and
// built-in tasks (probe:..., task:...) unchanged.
std::string absolute_data_path(const std::string& data);

// {"path": data, "bytes": n, "crc32": "0x........"} of the text a run trains on.
nlohmann::json data_fingerprint(const std::string& data, std::string_view text);

// Resume: the data file named by a checkpoint's fingerprint must still exist (else an error
// saying it was moved or deleted, with its size and hash) ...
void check_data_file_present(const nlohmann::json& recorded, const std::string& checkpoint);
// ... and hold the same bytes (else an error naming the file, the old and new size and hash).
// A fingerprint of another shape (an old checkpoint) is not checked.
void check_data_fingerprint(const nlohmann::json& recorded, std::string_view text,
                            const std::string& checkpoint);

}  // namespace tlm::train
