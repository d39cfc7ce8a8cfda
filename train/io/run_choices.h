// The choices of train's own config keys as typed values, declared with nn/'s machinery
// (nn/choices.h): each enum is a family -- an nn::Registry<nn::Choice<E>> of the names a config
// uses, each with one line of help -- so the key table (train/io/config.cpp) takes its allowed
// values from here, a name is parsed once when a config is read, and train/ compares enums:
//
//   if (cfg.tune_method == TuneMethod::Lora) ...                  // an enum, not a string compare
//   TuneMethod m = nn::parse<TuneMethod>("lst");                    // unknown: error naming the key
//   const std::string& s = nn::name_of(NanPolicy::Skip);            // "skip"
//
//   family                   key                       names
//   TuneMethod               tune_method               none | full | lora | lst   (train/tune/tune.h)
//   NanPolicy                nan_policy                stop | skip                (train/run/grad_pipeline.h)
//   ActivationCheckpointing  activation_checkpointing  none | blocks              (autograd/checkpoint.h)
//   UnseenChars              unseen_chars              refuse | replace           (train/tune/tune.h)
//   Precision                precision                 fp32 | bf16 | fp16         (autograd/precision.h)
//
// precision reuses autograd's enum (its names are autograd's precision_name). The model's
// choices (norm, pos, ffn, ..., lst_output) are nn/'s enums (nn/choices.h).
//
// What stays a name in TrainConfig, and why: block, loss, optimizer, schedule and tokenizer
// select an entry of a registry that holds a factory (nn/block_registry.h, nn/loss/registry.h,
// optim/registry.h, optim/schedule.h, train/data/tokenizer.h). A typed member would be a
// pointer to that entry, which a copyable, comparable config cannot hold safely (registries
// grow at static initialisation, examples/ register their own entries, and a checkpoint stores
// the name anyway); the key table still takes their allowed values from the registries and each
// is looked up once where it is used. loss_scale stays text: "dynamic" or a positive number,
// kept as written so the config JSON a checkpoint stores is unchanged (loss_scale_is_dynamic).
#pragma once

#include "autograd/precision.h"
#include "nn/choices.h"
#include "nn/registry.h"

namespace tlm::train {

enum class TuneMethod { None, Full, Lora, Lst };
enum class NanPolicy { Stop, Skip };
enum class ActivationCheckpointing { None, Blocks };
enum class UnseenChars { Refuse, Replace };

}  // namespace tlm::train

namespace tlm::nn {

template <> const Registry<Choice<train::TuneMethod>>& choices<train::TuneMethod>();
template <> const Registry<Choice<train::NanPolicy>>& choices<train::NanPolicy>();
template <> const Registry<Choice<train::ActivationCheckpointing>>& choices<train::ActivationCheckpointing>();
template <> const Registry<Choice<train::UnseenChars>>& choices<train::UnseenChars>();
template <> const Registry<Choice<Precision>>& choices<Precision>();

}  // namespace tlm::nn
