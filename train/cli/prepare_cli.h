// `tlm prepare`: the command-line side of train/data/prepare.h (main.cpp adds the subcommand
// and dispatches to it).
//
//   tlm prepare --data data/tinyshakespeare.txt --tokenizer bpe --bpe_vocab_size 1024
//               --out data/shakespeare_bpe [--threads 2] [--val_fraction 0.1]   (one line)
//
// The tokenizer's own options (--bpe_vocab_size, --tokenizer_dir) are the keys the tokenizer
// kinds name (train/data/tokenizer.cpp: tokenizer_registry), with their help, defaults and ranges: a tokenizer
// added there with a key gets its option here without an edit.
//
// On a terminal, stderr shows a bar per phase with MB/s and the ETA; otherwise a line per
// phase. stdout gets one JSON line (prepare_tokens' summary) for scripts.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "train/data/prepare.h"

namespace tlm::train {

class PrepareCommand {
 public:
  explicit PrepareCommand(CLI::App& app);
  bool parsed() const { return cmd_->parsed(); }
  int run();

 private:
  CLI::App* cmd_;
  PrepareOptions options_;
  std::map<std::string, std::string> key_text_;  // --<tokenizer key> as given, parsed in run()
};

}  // namespace tlm::train
