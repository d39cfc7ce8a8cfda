// CharTokenizer: one token per character, the vocabulary being the sorted set of characters of
// the training text (nanoGPT's shakespeare_char: `chars = sorted(set(text))`).
//
//   CharTokenizer tok = CharTokenizer::build(text);   // tiny Shakespeare: 65 symbols, '\n' = 0
//   tok.encode("hi!");                                // {46, 47, 2}
//   tok.encode("é");                                  // Error: 'é' (U+00E9, bytes 0xc3 0xa9) ...
//
// A character is a UTF-8 code point; every byte that is not part of valid UTF-8 (strict
// RFC 3629: no overlongs, surrogates or values above U+10FFFF) is a symbol of its own. Symbols
// sort by their bytes, which for valid UTF-8 is code point order, i.e. Python's str order, so
// ids match bench/torch_gpt.py on UTF-8 text; any input (binary too) round-trips byte for byte.
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "train/data/tokenizer.h"

namespace tlm::train {

class CharTokenizer final : public Tokenizer {
 public:
  static CharTokenizer build(std::string_view corpus);
  // Ids in the given order. Each symbol is one valid multi-byte code point or a single byte.
  explicit CharTokenizer(std::vector<std::string> symbols);
  static CharTokenizer from_json(const nlohmann::json& j);

  std::string name() const override { return "char"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(symbols_.size()); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  // {"type":"char","version":1,"symbols":["\n"," ",...]}; a lone non-UTF-8 byte is a number.
  nlohmann::json to_json() const override;

  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::vector<std::string> symbols_;             // id -> the symbol's bytes
  std::array<int32_t, 256> byte_id_;             // single-byte symbol -> id, -1 if absent
  std::unordered_map<uint32_t, int32_t> cp_id_;  // multi-byte code point -> id
};

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when s[i] does not start one.
size_t utf8_sequence_length(std::string_view s, size_t i);

}  // namespace tlm::train
