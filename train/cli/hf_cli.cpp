#include "train/cli/hf_cli.h"

#include <fmt/format.h>

#include <filesystem>

#include "tensor/error.h"
#include "train/data/gpt2_tokenizer.h"
#include "train/io/checkpoint.h"
#include "train/sys/file_io.h"
#include "train/hf/hf_gpt2.h"

namespace tlm::train {

HfCommands::HfCommands(CLI::App& app) {
  import_ = app.add_subcommand("import", "convert a Hugging Face GPT-2 directory (config.json, "
                                         "model.safetensors, vocab.json, merges.txt) to a tlm checkpoint");
  import_->add_option("--hf", hf_, "the Hugging Face directory")->required();
  import_->add_option("--out", out_, "the tlm checkpoint to write")->required();
  import_->add_flag("--force", force_, "overwrite --out if it exists");
  import_->add_option("--block_size", block_size_, "keep only the first N learned positions "
                      "(the context of eval/tune/sample; 0: all of n_positions)");

  export_ = app.add_subcommand("export", "write a tlm checkpoint as a Hugging Face GPT-2 directory");
  export_->add_option("--ckpt", ckpt_, "checkpoint")->required();
  export_->add_option("--hf", hf_, "the directory to write")->required();
  export_->add_flag("--force", force_, "overwrite the files of an existing export in --hf");

  encode_ = app.add_subcommand("encode", "print the token ids of a text (one JSON array line), "
                                         "with a checkpoint's tokenizer or GPT-2's files");
  encode_->add_option("--ckpt", ckpt_, "checkpoint whose tokenizer to use");
  encode_->add_option("--hf", hf_, "or a directory of vocab.json + merges.txt (GPT-2's tokenizer)");
  encode_->add_option("--data", data_, "text file")->required();
}

int HfCommands::run() {
  namespace fs = std::filesystem;
  if (import_->parsed()) {
    TLM_CHECK(force_ || !fs::exists(out_), "import: {} exists; pass --force to overwrite it", out_);
    Checkpoint ck = import_hf_gpt2(hf_, block_size_);
    if (fs::path(out_).has_parent_path()) fs::create_directories(fs::path(out_).parent_path());
    save_checkpoint(out_, ck);
    int64_t params = 0;
    for (const auto& [name, t] : ck.tensors) params += t.numel();
    fmt::print("{}\n", nlohmann::json{{"out", out_}, {"params", params},
                                      {"config", ck.meta.at("config")},
                                      {"layout", ck.meta.at("imported_from").at("layout")}}.dump());
    return 0;
  }
  if (export_->parsed()) {
    TLM_CHECK(force_ || !fs::exists(fs::path(hf_) / "model.safetensors"),
              "export: {} already holds model.safetensors; pass --force to overwrite it", hf_);
    fmt::print(stderr, "{}\n", export_hf_gpt2(ckpt_, hf_));
    return 0;
  }
  TLM_CHECK(ckpt_.empty() != hf_.empty(), "encode: give exactly one of --ckpt and --hf");
  std::unique_ptr<Tokenizer> tok;
  if (!hf_.empty()) {
    tok = std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::from_dir(hf_));
  } else {
    const Checkpoint ck = load_checkpoint(ckpt_);
    TLM_CHECK(ck.meta.contains("tokenizer"), "encode: {} holds no tokenizer", ckpt_);
    tok = load_tokenizer(ck.meta.at("tokenizer"));
  }
  const std::vector<int32_t> ids = tok->encode(read_file(data_, "encode"));
  std::string line = "[";
  for (size_t i = 0; i < ids.size(); ++i) line += fmt::format("{}{}", i ? "," : "", ids[i]);
  fmt::print("{}]\n", line);
  return 0;
}

}  // namespace tlm::train
