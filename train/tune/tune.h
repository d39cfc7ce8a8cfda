// Fine-tuning a checkpoint written by `tlm train` on a new text (`tlm tune`; docs/methods.md,
// "LoRA", "Ladder Side-Tuning"):
//
//   tune_method = full  every weight trained (the baseline that costs the most memory)
//   tune_method = lora  the backbone frozen, LoRA adapters on every attention/MLP Linear (nn/lora.h)
//   tune_method = lst   the backbone frozen and run without a graph, a Ladder Side-Tuning side
//                       network trained (nn/lst.h)
//
// The Trainer does the work (same loop, evaluation, logging, checkpoints); these are the
// pieces it and load_model() use:
//
//   TrainConfig cfg = tune_config("out/ckpt.bin", "lst", "new.txt", {"max_iters=300"});
//   Trainer t(cfg, false);   // loads the backbone, its tokenizer, attaches the method
//   t.run(stderr);           // out/tune-lst/ckpt.bin: only what was trained + the backbone's
//                            // path and file hash
//   LoadedModel m = load_model("out/tune-lst/ckpt.bin");   // checks the hash, rebuilds
//   Tensor logits = m.forward(ids, rng);                    // tlm eval / tlm sample use this
//
// The text is tokenized with the backbone's tokenizer. A character it does not have is
// refused (as `tlm eval` refuses it) naming the characters, unless unseen_chars = replace,
// which replaces each by unseen_replacement and reports the count; tlm eval of the tuned
// checkpoint applies the same replacement.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/lst.h"
#include "train/io/checkpoint.h"
#include "train/data/tokenizer.h"
#include "train/model/loaded_model.h"

namespace tlm::train {

// Where the backbone was and what it was: absolute path, size and FNV-1a 64-bit hash of the
// file's bytes.
struct BackboneRef {
  std::string path;
  int64_t bytes = 0;
  std::string fnv1a64;  // 16 hex digits
  nlohmann::json to_json() const;
  static BackboneRef from_json(const nlohmann::json& j, const std::string& source);
};
BackboneRef backbone_ref(const std::string& path);
// Refuses a backbone that is missing (moved or deleted) or whose bytes changed since
// `tuned` (a checkpoint path, for the message) was made from it.
void check_backbone(const BackboneRef& expected, const std::string& tuned);

// Whether a checkpoint's config (its meta "config") is of a fine-tuning run: its tune_method
// (none if absent) is not none. A value that names no method counts as tuned (reading the config
// then refuses it, naming the key).
bool is_tuned_config(const nlohmann::json& config);

// A `tlm train` checkpoint to tune from; a missing, corrupt or itself tuned file is refused.
LoadedModel load_backbone(const std::string& path);

// The config of `tlm tune`: the backbone's own config, then tune_method, backbone, data
// (empty: the built-in fortunes corpus) and out_dir (default: <backbone dir>/tune-<method>),
// then the --set overrides.
TrainConfig tune_config(const std::string& backbone_path, const std::string& method,
                        const std::string& data, const std::vector<std::string>& sets);

// The config of `tlm tune --resume`: every key comes from the checkpoint of the run in out_dir
// (the `out_dir=` of `sets`; else, with both given, <backbone dir>/tune-<method>), as for
// `tlm train --resume`. The backbone, method and data, when given, must equal the checkpoint's;
// `sets` may change only the keys a resume may change (train/launch/resume_config.h), any other
// changed key is refused by name.
//
//   tlm tune --ckpt bb.bin --method lora --data new.txt --set lora_rank=4 --set max_iters=300
//   tlm tune --resume --set out_dir=<bb dir>/tune-lora          // lora_rank, max_iters, data...
//   tlm tune --ckpt bb.bin --method lora --resume               //   from the checkpoint
TrainConfig tune_resume_config(const std::string& backbone_path, const std::string& method,
                               const std::string& data, const std::vector<std::string>& sets);

// Every key that decides the network must equal the backbone's; the error names the first
// that differs.
void check_matches_backbone(const TrainConfig& backbone, const TrainConfig& tuned,
                            const std::string& backbone_path, const std::string& what);

// `text` with the characters `tok` cannot encode handled by cfg.unseen_chars (see above).
// `replaced` (optional) receives how many characters were replaced.
std::string encodable_text(const std::string& text, const Tokenizer& tok, const TrainConfig& cfg,
                           const std::string& source, int64_t* replaced = nullptr);

// Sets up cfg.tune_method on `model` (the loaded backbone): full unfreezes it, lora freezes
// it and attaches adapters, lst freezes it and returns the side network (null otherwise),
// pruned by `importance` (nn::empirical_fisher; empty: weight magnitude).
std::unique_ptr<nn::LadderSide> prepare_tuning(nn::GPT& model, const TrainConfig& cfg, Rng& rng,
                                               std::map<std::string, Tensor> importance = {});
// What is trained (and saved): the side network's parameters, else the model's parameters
// that require grad (all of them for full and for training from scratch).
std::vector<std::pair<std::string, Tensor>> trained_parameters(const nn::GPT& model,
                                                               const nn::LadderSide* side);
// Copies `state` into `params`; names and shapes must match exactly (errors name the tensor).
void load_trained(const std::vector<std::pair<std::string, Tensor>>& params,
                  const std::map<std::string, Tensor>& state, const std::string& source);

// load_model() of a tuned checkpoint.
LoadedModel load_tuned(const Checkpoint& ck, const TrainConfig& cfg, const std::string& path);

}  // namespace tlm::train
