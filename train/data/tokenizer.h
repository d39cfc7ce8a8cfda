// Tokenizer: text bytes <-> token ids. Three kinds, selected by name: "char" (one id per
// character, the nanoGPT Shakespeare setup), "bpe" (byte-level byte-pair encoding) and "gpt2"
// (GPT-2's own tokenizer, read from its vocab.json + merges.txt: train/data/gpt2_tokenizer.h).
//
//   std::string text = read_file("input.txt", "data");
//   auto tok = make_tokenizer("char", text);                 // vocabulary learnt from text
//   auto bpe = make_tokenizer("bpe", text, {{"bpe_vocab_size", 1024}});  // its kind's keys
//   std::vector<int32_t> ids = tok->encode("To be");
//   std::string back = tok->decode(ids);                     // == "To be"
//   tok->decode({x.data<int32_t>(), n});                     // any contiguous ids (a span)
//   ck.meta["tokenizer"] = tok->to_json();                   // travels with the checkpoint
//   auto same = load_tokenizer(ck.meta["tokenizer"]);        // identical ids
//   tok->save("out/tokenizer.json");                         // or a file of its own
//   auto again = Tokenizer::load("out/tokenizer.json");
//
// Both kinds work on bytes, not on Unicode strings: decode(encode(s)) == s for every byte
// string a tokenizer can encode (all of them for "bpe").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nn/entry_key.h"
#include "nn/registry.h"
#include "train/io/tokenizer_kinds.h"

namespace tlm::train {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string name() const = 0;  // "char" | "bpe" | "gpt2": the key of make_tokenizer
  virtual int32_t vocab_size() const = 0;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  // {"type": name(), "version": N, ...}: everything needed to rebuild the same tokenizer.
  virtual nlohmann::json to_json() const = 0;

  // A versioned JSON file {"format": "tlm-tokenizer", "version": 1, "tokenizer": to_json()},
  // written atomically.
  void save(const std::string& path) const;
  // Reads a file written by save(), whatever its kind (= load_tokenizer_file).
  static std::unique_ptr<Tokenizer> load(const std::string& path);
};

// The factories: one nn::Registry (nn/registry.h) entry per kind, under the name it is declared
// with in tokenizer_kinds() (train/io/tokenizer_kinds.h: name, help, the config keys it reads --
// declared in io/ because the config's key table is built from them and io/ may not include
// data/). Each entry builds (trains) the tokenizer on the documents of a corpus, reading its
// kind's keys, and rebuilds it from to_json().
struct TokenizerType {
  std::string name;  // a name of tokenizer_kinds() (= Tokenizer::name())
  // documents: the corpus, one or more texts (tlm prepare's files; "char" joins several with
  // "\0", so that the separator is a symbol). keys: the kind's keys, each with a value.
  std::function<std::unique_ptr<Tokenizer>(std::span<const std::string_view> documents,
                                           const nn::KeyValues& keys)>
      make;
  std::function<std::unique_ptr<Tokenizer>(const nlohmann::json&)> load;
};
// Refuses (tlm::Error) an entry whose name tokenizer_kinds() does not declare.
nn::Registry<TokenizerType>& tokenizer_registry();

// Builds (trains) the tokenizer `name` on `corpus` (or on several documents). `keys`: values of
// the kind's keys by name (bpe_vocab_size = 1024; a TrainConfig's entry_values will do); unset
// keys take their defaults, a value out of range is refused naming the key. Unknown names list
// the known.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name, std::string_view corpus,
                                          const nn::KeyValues& keys = {});
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          std::span<const std::string_view> documents,
                                          const nn::KeyValues& keys = {});
std::vector<std::string> tokenizer_names();
// Rebuilds from to_json() (dispatching on "type"), or from a file written by save().
std::unique_ptr<Tokenizer> load_tokenizer(const nlohmann::json& j);
std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path);
// The text of a file written by save(); `source` names it in errors.
std::unique_ptr<Tokenizer> load_tokenizer_text(std::string_view text, std::string_view source);

}  // namespace tlm::train
