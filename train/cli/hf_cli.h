// `tlm import`, `tlm export` and `tlm encode`: the command-line side of train/hf/hf_gpt2.h and
// of a checkpoint's tokenizer (kept out of train/cli/main.cpp, which adds and dispatches them).
//
//   tlm import --hf gpt2/ --out gpt2.bin            Hugging Face GPT-2 dir -> tlm checkpoint
//              [--block_size 256]                   keep the first 256 positions only
//   tlm export --ckpt out/ckpt.bin --hf out/hf/     the inverse (GPT-2-shaped models only)
//   tlm encode --ckpt gpt2.bin --data text.txt      the token ids, one JSON array line
//
// Existing outputs are not overwritten unless --force is given.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tlm::train {

class HfCommands {
 public:
  explicit HfCommands(CLI::App& app);
  bool parsed() const { return import_->parsed() || export_->parsed() || encode_->parsed(); }
  int run();

 private:
  CLI::App *import_, *export_, *encode_;
  std::string hf_, out_, ckpt_, data_;
  bool force_ = false;
  int64_t block_size_ = 0;
};

}  // namespace tlm::train
