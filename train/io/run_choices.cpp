#include "train/io/run_choices.h"

#include <initializer_list>
#include <string>

namespace tlm::nn {

namespace {

// autograd's name of a precision (precision_name), so the two cannot differ.
Choice<Precision> precision_choice(Precision p, const char* help) {
  return {std::string(precision_name(p)), p, help};
}

}  // namespace

template <>
const Registry<Choice<train::TuneMethod>>& choices<train::TuneMethod>() {
  using train::TuneMethod;
  static const auto r = family<TuneMethod>(
      "tune_method", {{"none", TuneMethod::None, "train from scratch (tlm train)"},
                      {"full", TuneMethod::Full, "fine-tune every weight of the backbone"},
                      {"lora", TuneMethod::Lora, "LoRA adapters B A on the backbone's Linears"},
                      {"lst", TuneMethod::Lst, "a Ladder Side-Tuning side network"}});
  return r;
}

template <>
const Registry<Choice<train::NanPolicy>>& choices<train::NanPolicy>() {
  using train::NanPolicy;
  static const auto r = family<NanPolicy>(
      "nan_policy", {{"stop", NanPolicy::Stop, "stop the run naming the step and the tensor"},
                     {"skip", NanPolicy::Skip, "skip the step (no update; counted and logged)"}});
  return r;
}

template <>
const Registry<Choice<train::ActivationCheckpointing>>& choices<train::ActivationCheckpointing>() {
  using train::ActivationCheckpointing;
  static const auto r = family<ActivationCheckpointing>(
      "activation_checkpointing",
      {{"none", ActivationCheckpointing::None, "keep every activation for backward"},
       {"blocks", ActivationCheckpointing::Blocks, "keep each block's input, recompute the block"}});
  return r;
}

template <>
const Registry<Choice<train::UnseenChars>>& choices<train::UnseenChars>() {
  using train::UnseenChars;
  static const auto r = family<UnseenChars>(
      "unseen_chars", {{"refuse", UnseenChars::Refuse, "a character the tokenizer lacks is an error"},
                       {"replace", UnseenChars::Replace, "replace it by unseen_replacement"}});
  return r;
}

template <>
const Registry<Choice<Precision>>& choices<Precision>() {
  static const auto r = family<Precision>(
      "precision", {precision_choice(Precision::F32, "float32 throughout"),
                    precision_choice(Precision::BF16, "bfloat16 matmuls and saved activations"),
                    precision_choice(Precision::F16, "float16 matmuls and saved activations, loss scaling")});
  return r;
}

}  // namespace tlm::nn
