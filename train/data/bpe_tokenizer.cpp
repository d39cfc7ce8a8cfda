#include "train/data/bpe_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "tensor/error.h"
#include "train/sys/json_util.h"

namespace tlm::train {

namespace {

constexpr int kBpeVersion = 1;
constexpr const char* kPretokenizer = "tlm-words-v1";
// Merges can double a token's length each time ((a,a), (t,t), ...), so 40 merges in a 400-byte
// file would ask for a terabyte. Real tokens are pieces of words: these bounds are far above
// any trained vocabulary, and training never merges past them.
constexpr size_t kMaxTokenBytes = size_t{1} << 16;
constexpr size_t kMaxVocabBytes = size_t{1} << 28;

enum class ByteClass : uint8_t { Letter, Digit, Space, Other };

ByteClass byte_class(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return ByteClass::Letter;
  if (c >= '0' && c <= '9') return ByteClass::Digit;
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
    return ByteClass::Space;
  return ByteClass::Other;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32 | static_cast<uint32_t>(b);
}
int32_t key_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t key_right(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

// Replaces every non-overlapping (a, b), left to right, by `merged`; returns whether any was.
bool merge_pair(std::vector<int32_t>& s, int32_t a, int32_t b, int32_t merged) {
  size_t out = 0;
  bool any = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
      s[out++] = merged;
      ++i;
      any = true;
    } else {
      s[out++] = s[i];
    }
  }
  s.resize(out);
  return any;
}

}  // namespace

namespace {
// Calls f(piece) for each pre-token of `text` in order (bpe_pretokenize without the vector).
template <class F>
void for_each_piece(std::string_view text, F&& f) {
  const size_t n = text.size();
  auto cls = [&](size_t i) { return byte_class(static_cast<unsigned char>(text[i])); };
  auto run_end = [&](size_t i, ByteClass c) {
    while (i < n && cls(i) == c) ++i;
    return i;
  };
  size_t i = 0;
  while (i < n) {
    size_t end;
    if (text[i] == ' ' && i + 1 < n && cls(i + 1) != ByteClass::Space) {
      end = run_end(i + 1, cls(i + 1));  // " word", " 42", " ,"
    } else if (cls(i) == ByteClass::Space) {
      end = run_end(i, ByteClass::Space);
      // "\n  word": the last space before a word belongs to that word.
      if (end < n && end - i > 1 && text[end - 1] == ' ') --end;
    } else {
      end = run_end(i, cls(i));
    }
    f(text.substr(i, end - i));
    i = end;
  }
}
}  // namespace

std::vector<std::string_view> bpe_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  for_each_piece(text, [&](std::string_view p) { pieces.push_back(p); });
  return pieces;
}

// ---- training ----

BpeTokenizer BpeTokenizer::train(std::string_view corpus, int32_t vocab_size) {
  return train(std::span<const std::string_view>(&corpus, 1), vocab_size);
}

BpeTokenizer BpeTokenizer::train(std::span<const std::string_view> documents, int32_t vocab_size) {
  TLM_CHECK(vocab_size >= 256, "bpe tokenizer: vocab_size {} is below the 256 byte tokens",
            vocab_size);
  bool any = false;
  for (std::string_view d : documents) any = any || !d.empty();
  TLM_CHECK(any, "bpe tokenizer: cannot train on empty text");

  // Each distinct piece once, with its frequency.
  std::unordered_map<std::string_view, int64_t> piece_count;
  for (std::string_view d : documents)
    for_each_piece(d, [&](std::string_view p) { ++piece_count[p]; });
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  words.reserve(piece_count.size());
  freq.reserve(piece_count.size());
  for (const auto& [p, c] : piece_count) {
    words.emplace_back(p.begin(), p.end());
    for (auto& id : words.back()) id = static_cast<unsigned char>(id);
    freq.push_back(c);
  }

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words (may repeat)
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = pair_key(s[i], s[i + 1]);
      pair_count[k] += freq[w];
      where[k].push_back(static_cast<int32_t>(w));
    }
  }

  // Max-heap on count, ties to the smaller key; entries whose count is no longer current are
  // stale and skipped (every change pushes a fresh entry).
  using Entry = std::pair<int64_t, uint64_t>;
  auto lower = [](const Entry& x, const Entry& y) {
    return x.first != y.first ? x.first < y.first : x.second > y.second;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);
  for (const auto& [k, c] : pair_count) heap.emplace(c, k);

  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<size_t> token_len(256, 1);  // id -> bytes
  size_t vocab_bytes = 256;
  std::vector<uint64_t> changed;
  while (static_cast<int32_t>(256 + merges.size()) < vocab_size && !heap.empty()) {
    const auto [count, key] = heap.top();
    heap.pop();
    auto it = pair_count.find(key);
    if (it == pair_count.end() || it->second != count || count <= 0) continue;
    const int32_t a = key_left(key), b = key_right(key);
    const size_t len = token_len[static_cast<size_t>(a)] + token_len[static_cast<size_t>(b)];
    if (len > kMaxTokenBytes) continue;  // never merged (its count only changes if it shrinks)
    if (vocab_bytes + len > kMaxVocabBytes) break;
    token_len.push_back(len);
    vocab_bytes += len;
    const int32_t merged = static_cast<int32_t>(256 + merges.size());
    merges.emplace_back(a, b);

    std::vector<int32_t> list = std::move(where[key]);
    where.erase(key);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    changed.clear();
    for (int32_t w : list) {
      auto& s = words[static_cast<size_t>(w)];
      const int64_t f = freq[static_cast<size_t>(w)];
      std::vector<int32_t> before = s;
      if (!merge_pair(s, a, b, merged)) continue;  // a stale entry of the index
      for (size_t i = 0; i + 1 < before.size(); ++i) {
        const uint64_t k = pair_key(before[i], before[i + 1]);
        pair_count[k] -= f;
        changed.push_back(k);
      }
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        pair_count[k] += f;
        changed.push_back(k);
        if (s[i] == merged || s[i + 1] == merged) where[k].push_back(w);
      }
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (uint64_t k : changed) {
      auto c = pair_count.find(k);
      if (c->second > 0 && k != key)
        heap.emplace(c->second, k);
      else if (c->second <= 0)
        pair_count.erase(c);
    }
    pair_count.erase(key);
  }
  return BpeTokenizer(std::move(merges));
}

// ---- the tokenizer ----

BpeTokenizer::BpeTokenizer(std::vector<std::pair<int32_t, int32_t>> merges)
    : merges_(std::move(merges)) {
  token_bytes_.reserve(256 + merges_.size());
  size_t vocab_bytes = 256;
  for (int b = 0; b < 256; ++b) token_bytes_.emplace_back(1, static_cast<char>(b));
  for (size_t r = 0; r < merges_.size(); ++r) {
    const auto [a, b] = merges_[r];
    const int32_t known = static_cast<int32_t>(token_bytes_.size());
    TLM_CHECK(a >= 0 && a < known && b >= 0 && b < known,
              "bpe tokenizer: merge {} = ({}, {}) uses an id outside [0, {})", r, a, b, known);
    auto [it, fresh] = rank_.emplace(pair_key(a, b), static_cast<int32_t>(r));
    TLM_CHECK(fresh, "bpe tokenizer: merge {} = ({}, {}) repeats merge {}", r, a, b, it->second);
    const size_t len = token_bytes_[static_cast<size_t>(a)].size() + token_bytes_[static_cast<size_t>(b)].size();
    TLM_CHECK(len <= kMaxTokenBytes,
              "bpe tokenizer: merge {} = ({}, {}) makes a token of {} bytes (at most {} allowed)",
              r, a, b, len, kMaxTokenBytes);
    vocab_bytes += len;
    TLM_CHECK(vocab_bytes <= kMaxVocabBytes,
              "bpe tokenizer: the vocabulary exceeds {} bytes at merge {}", kMaxVocabBytes, r);
    token_bytes_.push_back(token_bytes_[static_cast<size_t>(a)] + token_bytes_[static_cast<size_t>(b)]);
  }
}

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  TLM_CHECK(id >= 0 && id < vocab_size(), "bpe tokenizer: id {} is outside the vocabulary [0, {})",
            id, vocab_size());
  return token_bytes_[static_cast<size_t>(id)];
}

void BpeTokenizer::encode_piece_(std::string_view piece, std::vector<int32_t>& out) const {
  std::vector<int32_t> s(piece.begin(), piece.end());
  for (auto& id : s) id = static_cast<unsigned char>(id);
  // Apply the lowest-ranked applicable merge everywhere, then the next: training order.
  while (s.size() > 1) {
    int32_t best = INT32_MAX;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rank_.find(pair_key(s[i], s[i + 1]));
      if (it != rank_.end() && it->second < best) best = it->second;
    }
    if (best == INT32_MAX) break;
    const auto [a, b] = merges_[static_cast<size_t>(best)];
    merge_pair(s, a, b, 256 + best);
  }
  out.insert(out.end(), s.begin(), s.end());
}

namespace {

// The pre-token -> ids cache of one encode call: open addressing (linear probing) over
// power-of-two slots, each the piece (a view into the text being encoded) and where its ids
// first went in the output. It replaces std::unordered_map<string_view, ...>, whose node
// chasing and byte-wise hash took 60% of encode time (perf, bench_tokenizer BM_Encode/1/8/1).
class PieceCache {
 public:
  struct Slot {
    const char* data = nullptr;  // null: empty
    uint32_t size = 0;
    uint32_t ids_len = 0;
    uint64_t hash = 0;
    size_t ids_from = 0;
  };
  PieceCache() : slots_(1024) {}

  // The slot of `piece`: filled (data != null) when it was inserted before, else the empty slot
  // to fill with insert().
  Slot& find(std::string_view piece, uint64_t h) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.data == nullptr) return s;
      if (s.hash == h && s.size == piece.size() && std::memcmp(s.data, piece.data(), piece.size()) == 0)
        return s;
    }
  }
  void insert(Slot& slot, std::string_view piece, uint64_t h, size_t from, size_t len) {
    slot = {piece.data(), static_cast<uint32_t>(piece.size()), static_cast<uint32_t>(len), h, from};
    if (++used_ * 2 > slots_.size()) grow_();
  }

  // 8 bytes at a time, each word mixed by a multiply and a shift (the finaliser of splitmix64).
  static uint64_t hash(std::string_view p) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ p.size();
    size_t i = 0;
    for (; i + 8 <= p.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, p.data() + i, 8);
      h = mix_(h ^ w);
    }
    if (i < p.size()) {
      uint64_t w = 0;
      std::memcpy(&w, p.data() + i, p.size() - i);
      h = mix_(h ^ w);
    }
    return h;
  }

 private:
  static uint64_t mix_(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  void grow_() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.data == nullptr) continue;
      size_t i = static_cast<size_t>(s.hash) & mask;
      while (slots_[i].data != nullptr) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

}  // namespace

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 2);
  // Text repeats its words: encode each distinct piece once per call, then copy its ids.
  PieceCache cache;
  for_each_piece(text, [&](std::string_view piece) {
    if (piece.size() > UINT32_MAX) {  // never cached (a 4 GB run of one byte class)
      encode_piece_(piece, ids);
      return;
    }
    const uint64_t h = PieceCache::hash(piece);
    PieceCache::Slot& slot = cache.find(piece, h);
    if (slot.data != nullptr) {
      const size_t from = slot.ids_from, len = slot.ids_len;
      if (len == 1) {
        const int32_t id = ids[from];
        ids.push_back(id);
      } else {
        ids.resize(ids.size() + len);
        std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(from), len,
                    ids.end() - static_cast<std::ptrdiff_t>(len));
      }
      return;
    }
    const size_t from = ids.size();
    encode_piece_(piece, ids);
    cache.insert(slot, piece, h, from, ids.size() - from);
  });
  return ids;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  out.reserve(ids.size() * 3);
  for (size_t k = 0; k < ids.size(); ++k) {
    const int32_t id = ids[k];
    TLM_CHECK(id >= 0 && id < vocab_size(),
              "bpe tokenizer: id {} at position {} is outside the vocabulary [0, {})", id, k,
              vocab_size());
    out += token_bytes_[static_cast<size_t>(id)];
  }
  return out;
}

nlohmann::json BpeTokenizer::to_json() const {
  nlohmann::json m = nlohmann::json::array();
  for (const auto& [a, b] : merges_) m.push_back({a, b});
  return {{"type", "bpe"}, {"version", kBpeVersion}, {"pretokenizer", kPretokenizer},
          {"merges", std::move(m)}};
}

BpeTokenizer BpeTokenizer::from_json(const nlohmann::json& j) {
  TLM_CHECK(json_string_or(j, "type") == "bpe",
            "bpe tokenizer: JSON is not a bpe tokenizer (type '{}')",
            json_string_or(j, "type"));
  TLM_CHECK(j.contains("version") && j.at("version") == kBpeVersion,
            "bpe tokenizer: unsupported version {} (this build reads version {})",
            j.contains("version") ? j.at("version").dump() : "(missing)", kBpeVersion);
  TLM_CHECK(json_string_or(j, "pretokenizer") == kPretokenizer,
            "bpe tokenizer: unsupported pretokenizer '{}' (this build has '{}')",
            json_string_or(j, "pretokenizer"), kPretokenizer);
  TLM_CHECK(j.contains("merges") && j.at("merges").is_array(),
            "bpe tokenizer: JSON lacks the 'merges' array");
  std::vector<std::pair<int32_t, int32_t>> merges;
  for (const auto& m : j.at("merges")) {
    TLM_CHECK(m.is_array() && m.size() == 2 && m[0].is_number_integer() &&
                  m[1].is_number_integer(),
              "bpe tokenizer: merge {} is not a pair of ids: {}", merges.size(), m.dump());
    const int64_t a = m[0].get<int64_t>(), b = m[1].get<int64_t>();
    TLM_CHECK(a >= 0 && b >= 0 && a <= INT32_MAX && b <= INT32_MAX,
              "bpe tokenizer: merge {} = {} has a negative or huge id", merges.size(), m.dump());
    merges.emplace_back(static_cast<int32_t>(a), static_cast<int32_t>(b));
  }
  return BpeTokenizer(std::move(merges));
}

}  // namespace tlm::train
