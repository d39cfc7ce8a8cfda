// BpeTokenizer: byte-level byte-pair encoding, GPT-2 style (Sennrich et al. 2016,
// arXiv:1508.07909; Radford et al. 2019). Ids 0..255 are the bytes; id 256+r is merge r.
//
//   BpeTokenizer tok = BpeTokenizer::train(text, 2000);   // 256 bytes + 1744 merges
//   std::vector<int32_t> ids = tok.encode("To be, or not to be");
//   tok.decode(ids);                                        // the same bytes, always
//
// Pre-tokenisation keeps merges inside words: the text is cut into pieces, each an optional
// single leading space followed by a run of letters (ASCII letters and every byte >= 0x80, so
// UTF-8 characters stay whole), or a run of digits, or a run of other punctuation; whitespace
// runs are pieces of their own, except that a final space before a word joins that word
// (" the", "\n\n", " ,"). Training counts the pieces once, then repeatedly merges the most
// frequent adjacent pair (ties: the smaller pair of ids), updating only the pair counts of the
// pieces that contain it. Encoding applies merges to each piece lowest rank first, which
// reproduces the training segmentation.
#pragma once

#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "train/data/tokenizer.h"

namespace tlm::train {

class BpeTokenizer final : public Tokenizer {
 public:
  // Learns vocab_size - 256 merges (fewer if the text runs out of pairs).
  static BpeTokenizer train(std::string_view corpus, int32_t vocab_size);
  // Several documents: pieces are counted in each on its own (none spans two documents).
  static BpeTokenizer train(std::span<const std::string_view> documents, int32_t vocab_size);
  // merges[r] = the pair of ids merged into id 256 + r (each id must already exist).
  explicit BpeTokenizer(std::vector<std::pair<int32_t, int32_t>> merges);
  static BpeTokenizer from_json(const nlohmann::json& j);

  std::string name() const override { return "bpe"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(token_bytes_.size()); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  // {"type":"bpe","version":1,"pretokenizer":"tlm-words-v1","merges":[[a,b],...]}
  nlohmann::json to_json() const override;

  const std::vector<std::pair<int32_t, int32_t>>& merges() const { return merges_; }
  const std::string& token_bytes(int32_t id) const;

 private:
  void encode_piece_(std::string_view piece, std::vector<int32_t>& out) const;
  std::vector<std::pair<int32_t, int32_t>> merges_;  // rank -> (left, right)
  std::unordered_map<uint64_t, int32_t> rank_;        // pair key -> rank
  std::vector<std::string> token_bytes_;              // id -> bytes
};

// The pre-tokeniser on its own (pieces concatenate back to `text`).
std::vector<std::string_view> bpe_pretokenize(std::string_view text);

}  // namespace tlm::train
