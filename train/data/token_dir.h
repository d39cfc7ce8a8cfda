// A prepared token directory, the input of `tlm train --set data=DIR`: written by `tlm prepare`
// (train/data/prepare.h) or by nanoGPT's prepare.py.
//
//   DIR/train.bin, DIR/val.bin   token ids (train/data/token_file.h), val = the last ids
//   DIR/meta.json                {"format": "tlm-tokens", "version": 1, "tokenizer": "bpe",
//                                 "tokenizer_file": "tokenizer.json", "vocab_size": 512,
//                                 "dtype": "uint16", "end_of_text": 0, "val_fraction": 0.1,
//                                 "files": {"train.bin": {"tokens", "bytes", "crc32"}, ...},
//                                 "sources": [{"path", "bytes", "crc32", "tokens"}, ...]}
//   DIR/tokenizer.json           the tokenizer (Tokenizer::save)
//
//   TokenDir d = open_token_dir("data/shakespeare", "bpe", make_gpt2);  // checks everything
//   Dataset& data = d.data;                   // memory-mapped splits
//   ck.meta["data_files"] = d.files;          // resume: check_token_files_unchanged
//
// Opening reads both files once (crc32 and largest id, through a small buffer) and refuses:
// a size that is not a whole number of ids, an id >= the vocabulary, a meta.json that does not
// match the files (count, bytes, crc32) or the tokenizer file, a tokenizer other than the
// config's, and a directory without meta.json, unless it is a nanoGPT prepare.py directory
// (train.bin and val.bin, uint16 GPT-2 ids, no meta.json) and the config says tokenizer = gpt2.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "train/data/data.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

inline constexpr const char* kTokenMetaFormat = "tlm-tokens";
inline constexpr int kTokenMetaVersion = 1;

// `data` names an existing directory (as opposed to a text file or a built-in task).
bool is_token_dir(const std::string& data);

struct TokenDir {
  std::unique_ptr<Tokenizer> tokenizer;
  Dataset data;
  // {"dir": DIR, "dtype": "uint16", "train.bin": {"bytes": n, "crc32": "89abcdef"},
  // "val.bin": {...}}: what a checkpoint records, so that a resume can tell whether the files
  // changed (only the two files' entries are compared: the directory may move).
  nlohmann::json files;
  uint64_t bytes = 0;   // both files
  uint32_t crc32 = 0;   // of train.bin's crc32 then val.bin's (ranks compare it)
};

// `tokenizer_name`: the config's tokenizer, which must be the directory's. `gpt2`: builds the
// GPT-2 tokenizer for a nanoGPT directory (called only in that case).
TokenDir open_token_dir(const std::string& dir, const std::string& tokenizer_name,
                        const std::function<std::unique_ptr<Tokenizer>()>& gpt2);

// Resume from checkpoint `ckpt` (metadata `meta`) on a directory whose files are now `files`
// (TokenDir::files) and whose tokenizer is `tok`: the checkpoint must record the same files with
// the same bytes and crc32, and the same tokenizer. Errors name the file that changed.
void check_token_files_unchanged(const nlohmann::json& meta, const nlohmann::json& files,
                                 const Tokenizer& tok, const std::string& ckpt);

// "89abcdef": how meta.json and checkpoints write a CRC-32.
std::string crc32_hex(uint32_t crc);

}  // namespace tlm::train
