// TokenizerKind: a tokenizer as the config sees it -- its name (a value of the key `tokenizer`),
// a help line, the config keys it reads (bpe: bpe_vocab_size; gpt2: tokenizer_dir) and its
// check across keys -- and no code that builds a tokenizer.
//
//   const TokenizerKind& bpe = tokenizer_kinds().get("bpe");
//   nn::KeyValues v = nn::with_defaults(bpe.keys, cfg.entry_values, "tokenizer bpe");
//
// Why the declarations live here, apart from the factories: the config's key table
// (train/io/config.cpp) takes the `tokenizer` choices and appends these keys from this registry,
// and io/ may not include data/ (data/ reads and writes files through io/, so io -> data would
// be a cycle between the folders; ctest train_include_cycles). So a tokenizer is registered
// twice under one name, once per layer: here its name, help and keys; in
// train/data/tokenizer.cpp (tokenizer_registry) its factory and loader, beside the tokenizers.
// tokenizer_registry() refuses a factory whose name is not declared here, and make_tokenizer a
// declared name without a factory, so the two lists cannot drift apart unnoticed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nn/entry_key.h"
#include "nn/registry.h"

namespace tlm::train {

struct TokenizerKind {
  std::string name;                 // the value of the config key `tokenizer` (= Tokenizer::name())
  std::string help;                 // one line
  std::vector<nn::EntryKey> keys;   // the config keys it reads, each a key of group "data"
  // Checks across keys (throws tlm::Error naming them), run by the config's validate() when this
  // kind is selected; may be empty.
  std::function<void(const nn::KeyValues& keys)> check = {};
  // The key (of `keys`, an integer) that sets the vocabulary size, or "" if the vocabulary comes
  // from the data or a file (char, gpt2): what the memory estimate reads before a tokenizer
  // exists, and what a run on a tokenizer_file or tlm prepare's meta.json records.
  std::string vocab_key = {};
};

// "char", "bpe", "gpt2", in this order (the order of the config's choices).
nn::Registry<TokenizerKind>& tokenizer_kinds();

}  // namespace tlm::train
