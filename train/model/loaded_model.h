// A model as a checkpoint written by `tlm train` holds it: the trained model with its tokenizer
// and config (the GPTConfig a TrainConfig describes: gpt_config, train/io/model_config.h).
//
//   nn::GPT model(gpt_config(cfg, tok->vocab_size()), init_rng);
//   LoadedModel m = load_trained_model("out/ckpt.bin");   // not a fine-tuned checkpoint
//   Tensor logits = m.forward(ids, rng);                    // [B,T,V]
//
// Below both train/run (the Trainer; its load_model also reads fine-tuned checkpoints) and
// train/tune (which loads its backbone with load_trained_model), so neither includes the other's
// headers for these.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nn/gpt.h"
#include "nn/lst.h"
#include "train/data/tokenizer.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/io/model_config.h"  // gpt_config

namespace tlm::train {

// A trained model with its tokenizer and config, as stored in a checkpoint.
struct LoadedModel {
  TrainConfig config;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<nn::GPT> model;  // for a tuned checkpoint: the backbone with what was trained
  std::unique_ptr<nn::LadderSide> side;  // tune_method = lst: the side network over `model`
  int64_t step = 0;
  // The model's logits [B,T,V] for ids [B,T] (through the side network when there is one).
  Tensor forward(const Tensor& ids, Rng& rng);
  Tensor generate(const Tensor& prompt, int64_t max_new_tokens, double temperature, int64_t top_k,
                  double top_p, Rng& rng);
};

// The model of a checkpoint `tlm train` wrote (config, tokenizer, step, "model.*" tensors), in
// eval mode; `path` names it in errors. A fine-tuned checkpoint (config tune_method != none) is
// refused: train/run/trainer.h:load_model reads those through train/tune.
LoadedModel load_trained_model(const Checkpoint& ck, const std::string& path);
LoadedModel load_trained_model(const std::string& path);

}  // namespace tlm::train
