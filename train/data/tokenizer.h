// Tokenizer: text bytes <-> token ids. Three kinds, selected by name: "char" (one id per
// character, the nanoGPT Shakespeare setup), "bpe" (byte-level byte-pair encoding) and "gpt2"
// (GPT-2's own tokenizer, read from its vocab.json + merges.txt: train/data/gpt2_tokenizer.h).
//
//   std::string text = read_file("input.txt", "data");
//   auto tok = make_tokenizer("char", text);                 // vocabulary learnt from text
//   auto bpe = make_tokenizer("bpe", text, {{"bpe_vocab_size", 1024}});  // its entry's keys
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

// The tokenizer family: one nn::Registry (nn/registry.h) entry per kind, in
// train/data/tokenizer.cpp. An entry is everything about a kind: its name (the value of the
// config key `tokenizer`), a help line, the config keys it reads (bpe: bpe_vocab_size; gpt2:
// tokenizer_dir), which the config's key table (train/io/config.cpp) and `tlm prepare`'s
// options take from here, how to build (train) it on the documents of a corpus, and how to
// rebuild it from to_json().
struct TokenizerType {
  std::string name;               // the value of the config key `tokenizer` (= Tokenizer::name())
  std::string help;               // one line
  std::vector<nn::EntryKey> keys;  // the config keys it reads, each a key of group "data"
  // documents: the corpus, one or more texts (tlm prepare's files; "char" joins several with
  // "\0", so that the separator is a symbol). keys: the kind's keys, each with a value.
  std::function<std::unique_ptr<Tokenizer>(std::span<const std::string_view> documents,
                                           const nn::KeyValues& keys)>
      make;
  std::function<std::unique_ptr<Tokenizer>(const nlohmann::json&)> load;
  // Checks across keys (throws tlm::Error naming them), run by the config's validate() when this
  // kind is selected; may be empty.
  std::function<void(const nn::KeyValues& keys)> check = {};
  // The key (of `keys`, an integer) that sets the vocabulary size, or "" if the vocabulary comes
  // from the data or a file (char, gpt2): what the memory estimate reads before a tokenizer
  // exists, and what a run on a tokenizer_file or tlm prepare's meta.json records.
  std::string vocab_key = {};
};
// "char", "bpe", "gpt2", in this order (the order of the config's choices).
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
