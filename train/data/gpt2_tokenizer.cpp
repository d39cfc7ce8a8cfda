#include "train/data/gpt2_tokenizer.h"

#include <filesystem>
#include <queue>

#include "tensor/error.h"
#include "train/data/unicode_classes.h"
#include "train/sys/file_io.h"
#include "train/sys/json_util.h"

namespace tlm::train {

namespace {

constexpr int kGpt2Version = 1;

enum class CharClass : uint8_t { Letter, Number, Space, Other };

CharClass char_class(char32_t c) {
  if (c == unicode::kInvalid) return CharClass::Other;  // a stray byte (see the header)
  if (unicode::is_letter(c)) return CharClass::Letter;
  if (unicode::is_number(c)) return CharClass::Number;
  if (unicode::is_space(c)) return CharClass::Space;
  return CharClass::Other;
}

void append_utf8(std::string& s, char32_t c) {
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
}

uint64_t pair_key(int32_t a, int32_t b) {
  return static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32 | static_cast<uint32_t>(b);
}

// The inverse of bytes_to_unicode on one vocab.json token: its bytes, or false when a
// character is not one of the 256 that spell bytes.
bool token_to_bytes(std::string_view token, std::string& bytes) {
  static const std::unordered_map<char32_t, unsigned char> decoder = [] {
    std::unordered_map<char32_t, unsigned char> d;
    for (int b = 0; b < 256; ++b) d[gpt2_byte_to_unicode()[b]] = static_cast<unsigned char>(b);
    return d;
  }();
  bytes.clear();
  for (size_t pos = 0; pos < token.size();) {
    size_t len = 0;
    const char32_t c = unicode::decode_utf8(token, pos, len);
    const auto it = decoder.find(c);
    if (it == decoder.end()) return false;
    bytes += static_cast<char>(it->second);
    pos += len;
  }
  return true;
}

std::string read_first(const std::string& dir, const char* name, const char* alt) {
  namespace fs = std::filesystem;
  const fs::path a = fs::path(dir) / name, b = fs::path(dir) / alt;
  if (fs::exists(a) || !fs::exists(b)) return read_file(a.string(), "gpt2 tokenizer");
  return read_file(b.string(), "gpt2 tokenizer");
}

}  // namespace

const std::array<char32_t, 256>& gpt2_byte_to_unicode() {
  // openai/gpt-2 encoder.py bytes_to_unicode(): '!'..'~', U+00A1..U+00AC and U+00AE..U+00FF
  // stand for themselves; the other 68 bytes, in increasing order, for U+0100, U+0101, ...
  static const std::array<char32_t, 256> map = [] {
    std::array<char32_t, 256> m{};
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      m[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return m;
  }();
  return map;
}

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  const size_t n = text.size();
  // The code point at `pos` (its length in `len`) and its class.
  auto at = [&](size_t pos, size_t& len) { return unicode::decode_utf8(text, pos, len); };
  // The end of the run of class k that starts at pos.
  auto run_end = [&](size_t pos, CharClass k) {
    size_t len = 0;
    while (pos < n && char_class(at(pos, len)) == k) pos += len;
    return pos;
  };
  size_t pos = 0;
  while (pos < n) {
    size_t len = 0;
    const char32_t c = at(pos, len);
    size_t end = 0;
    // 's|'t|'re|'ve|'m|'ll|'d  (ASCII, case-sensitive)
    if (c == '\'' && pos + 1 < n) {
      const std::string_view rest = text.substr(pos + 1);
      const char c1 = rest[0];
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') end = pos + 2;
      else if (rest.starts_with("re") || rest.starts_with("ve") || rest.starts_with("ll")) end = pos + 3;
    }
    if (end == 0) {
      // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': one optional U+0020 before a non-space run.
      size_t start = pos;
      CharClass k = char_class(c);
      if (c == ' ' && pos + 1 < n) {
        size_t len2 = 0;
        const CharClass k2 = char_class(at(pos + 1, len2));
        if (k2 != CharClass::Space) start = pos + 1, k = k2;
      }
      if (k != CharClass::Space) {
        end = run_end(start, k);
      } else {
        // '\s+(?!\S)|\s+': the whole run at the end of the text; before a non-space, the run
        // but its last character when that leaves at least one, else the one character.
        size_t last = pos;  // start of the run's last character
        end = pos;
        size_t l = 0;
        while (end < n && char_class(at(end, l)) == CharClass::Space) last = end, end += l;
        if (end < n && last > pos) end = last;
      }
    }
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

Gpt2Tokenizer::Gpt2Tokenizer(std::vector<std::string> vocab, std::vector<std::string> merges,
                             std::string_view source)
    : vocab_(std::move(vocab)), merges_(std::move(merges)) {
  const auto V = static_cast<int32_t>(vocab_.size());
  TLM_CHECK(V >= 256, "gpt2 tokenizer: {}: the vocabulary has {} tokens, fewer than the 256 bytes",
            source, V);
  std::unordered_map<std::string_view, int32_t> id_of;
  id_of.reserve(vocab_.size());
  token_bytes_.resize(vocab_.size());
  for (int32_t id = 0; id < V; ++id) {
    TLM_CHECK(id_of.emplace(vocab_[id], id).second, "gpt2 tokenizer: {}: token '{}' appears twice",
              source, vocab_[id]);
    TLM_CHECK(token_to_bytes(vocab_[id], token_bytes_[id]) && !vocab_[id].empty(),
              "gpt2 tokenizer: {}: token {} '{}' is not spelt in GPT-2's byte alphabet "
              "(bytes_to_unicode)", source, id, vocab_[id]);
  }
  for (int b = 0; b < 256; ++b) {
    std::string s;
    append_utf8(s, gpt2_byte_to_unicode()[b]);
    const auto it = id_of.find(s);
    TLM_CHECK(it != id_of.end(), "gpt2 tokenizer: {}: the vocabulary lacks the token '{}' of byte {}",
              source, s, b);
    byte_id_[b] = it->second;
  }
  std::vector<bool> produced(vocab_.size(), false);
  for (int b = 0; b < 256; ++b) produced[byte_id_[b]] = true;
  merge_.reserve(merges_.size());
  for (size_t r = 0; r < merges_.size(); ++r) {
    const std::string& m = merges_[r];
    const size_t sp = m.find(' ');
    TLM_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < m.size() &&
                  m.find(' ', sp + 1) == std::string::npos,
              "gpt2 tokenizer: {}: merge {} '{}' is not two tokens separated by one space", source,
              r + 1, m);
    const std::string left = m.substr(0, sp), right = m.substr(sp + 1), both = left + right;
    for (const std::string* t : {&left, &right, &both})
      TLM_CHECK(id_of.count(*t), "gpt2 tokenizer: {}: merge {} '{}': '{}' is not in the vocabulary",
                source, r + 1, m, *t);
    const int32_t id = id_of.at(both);
    // A repeated pair keeps its first (lowest) rank, as a rank table built in order would.
    merge_.emplace(pair_key(id_of.at(left), id_of.at(right)), Merge{static_cast<int32_t>(r), id});
    produced[id] = true;
  }
  for (int32_t id = 0; id < V; ++id)
    if (!produced[id]) specials_.emplace_back(token_bytes_[id], id);
}

Gpt2Tokenizer Gpt2Tokenizer::from_text(std::string_view vocab_json, std::string_view merges_txt,
                                       std::string_view source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(vocab_json);
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("gpt2 tokenizer: {}: vocab.json is not valid JSON: {}", source, e.what());
  }
  TLM_CHECK(j.is_object(), "gpt2 tokenizer: {}: vocab.json is not an object of token -> id", source);
  std::vector<std::string> vocab(j.size());
  std::vector<bool> seen(j.size(), false);
  for (const auto& [token, id] : j.items()) {
    TLM_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 &&
                  id.get<int64_t>() < static_cast<int64_t>(j.size()),
              "gpt2 tokenizer: {}: vocab.json: token '{}' has id {}, not an integer in [0, {})",
              source, token, id.dump(), j.size());
    const auto i = static_cast<size_t>(id.get<int64_t>());
    TLM_CHECK(!seen[i], "gpt2 tokenizer: {}: vocab.json: id {} is given to two tokens (one is '{}')",
              source, i, token);
    seen[i] = true;
    vocab[i] = token;
  }
  std::vector<std::string> merges;
  size_t line_no = 0;
  for (size_t pos = 0; pos < merges_txt.size();) {
    size_t nl = merges_txt.find('\n', pos);
    if (nl == std::string_view::npos) nl = merges_txt.size();
    std::string_view line = merges_txt.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.starts_with("#version")) continue;
    if (line.empty()) continue;
    merges.emplace_back(line);
  }
  return Gpt2Tokenizer(std::move(vocab), std::move(merges), source);
}

Gpt2Tokenizer Gpt2Tokenizer::from_dir(const std::string& dir) {
  TLM_CHECK(!dir.empty(), "gpt2 tokenizer: no directory given (tokenizer_dir = DIR holding "
            "vocab.json and merges.txt)");
  return from_text(read_first(dir, "vocab.json", "encoder.json"),
                   read_first(dir, "merges.txt", "vocab.bpe"), dir);
}

Gpt2Tokenizer Gpt2Tokenizer::from_json(const nlohmann::json& j) {
  TLM_CHECK(json_string_or(j, "type") == "gpt2", "gpt2 tokenizer: JSON type is not 'gpt2'");
  TLM_CHECK(j.contains("version") && j.at("version") == kGpt2Version,
            "gpt2 tokenizer: unsupported version {} (this build reads version {})",
            j.contains("version") ? j.at("version").dump() : "(missing)", kGpt2Version);
  auto strings = [&](const char* key) {
    TLM_CHECK(j.contains(key) && j.at(key).is_array(), "gpt2 tokenizer: JSON lacks the array '{}'", key);
    std::vector<std::string> v;
    v.reserve(j.at(key).size());
    for (const auto& s : j.at(key)) {
      TLM_CHECK(s.is_string(), "gpt2 tokenizer: '{}' holds a non-string {}", key, s.dump());
      v.push_back(s.get<std::string>());
    }
    return v;
  };
  return Gpt2Tokenizer(strings("vocab"), strings("merges"), "checkpoint JSON");
}

nlohmann::json Gpt2Tokenizer::to_json() const {
  return {{"type", "gpt2"}, {"version", kGpt2Version}, {"vocab", vocab_}, {"merges", merges_}};
}

std::string Gpt2Tokenizer::vocab_json() const {
  // By hand, in id order (nlohmann::ordered_json inserts in linear time per key).
  std::string s = "{";
  for (size_t id = 0; id < vocab_.size(); ++id)
    s += fmt::format("{}{}: {}", id ? ", " : "", nlohmann::json(vocab_[id]).dump(), id);
  return s + "}";
}

std::string Gpt2Tokenizer::merges_txt() const {
  std::string s = "#version: 0.2\n";
  for (const auto& m : merges_) s += m + "\n";
  return s;
}

int32_t Gpt2Tokenizer::eot_id() const {
  for (const auto& [text, id] : specials_)
    if (text == "<|endoftext|>") return id;
  return -1;
}

const std::string& Gpt2Tokenizer::token(int32_t id) const {
  TLM_CHECK(id >= 0 && id < vocab_size(), "gpt2 tokenizer: id {} is outside [0, {})", id, vocab_size());
  return vocab_[id];
}

const std::string& Gpt2Tokenizer::token_bytes(int32_t id) const {
  TLM_CHECK(id >= 0 && id < vocab_size(), "gpt2 tokenizer: id {} is outside [0, {})", id, vocab_size());
  return token_bytes_[id];
}

// BPE on one piece: repeatedly merge the adjacent pair of lowest rank, the leftmost first.
// A heap of candidate pairs over a linked list of symbols keeps long pieces O(n log n); an
// entry is stale (skipped) when its left symbol is gone or no longer forms that pair.
void Gpt2Tokenizer::encode_piece_(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n = piece.size();
  if (n == 1) {
    out.push_back(byte_id_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  std::vector<int32_t> id(n);
  std::vector<int64_t> prev(n), next(n);  // -1 / n: none
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_id_[static_cast<unsigned char>(piece[i])];
    prev[i] = static_cast<int64_t>(i) - 1;
    next[i] = static_cast<int64_t>(i) + 1;
  }
  struct Candidate {
    int32_t rank;
    int64_t left;              // position of the left symbol
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int64_t left) {
    if (left < 0 || next[left] >= static_cast<int64_t>(n)) return;
    const auto it = merge_.find(pair_key(id[left], id[next[left]]));
    if (it != merge_.end()) heap.push({it->second.rank, left, id[left], id[next[left]]});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int64_t>(i));
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int64_t r = next[c.left];
    if (!alive[c.left] || r >= static_cast<int64_t>(n) || id[c.left] != c.left_id ||
        id[r] != c.right_id)
      continue;
    id[c.left] = merge_.at(pair_key(c.left_id, c.right_id)).id;
    alive[r] = false;
    next[c.left] = next[r];
    if (next[r] < static_cast<int64_t>(n)) prev[next[r]] = c.left;
    push(prev[c.left]);
    push(c.left);
  }
  for (int64_t i = 0; i < static_cast<int64_t>(n); i = next[i]) out.push_back(id[i]);
}

void Gpt2Tokenizer::encode_ordinary_(std::string_view text, PieceCache& cache,
                                     std::vector<int32_t>& cached, std::vector<int32_t>& out) const {
  for (std::string_view piece : gpt2_pretokenize(text)) {
    auto it = cache.find(piece);
    if (it == cache.end()) {
      const size_t begin = cached.size();
      encode_piece_(piece, cached);
      it = cache.emplace(piece, std::make_pair(begin, cached.size())).first;
    }
    out.insert(out.end(), cached.begin() + static_cast<std::ptrdiff_t>(it->second.first),
               cached.begin() + static_cast<std::ptrdiff_t>(it->second.second));
  }
}

std::vector<int32_t> Gpt2Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3);
  // piece -> [begin, end) of its ids in `cached`: each distinct piece is merged once per call.
  PieceCache cache;
  std::vector<int32_t> cached;
  size_t pos = 0;
  while (pos < text.size()) {
    // The earliest special token from pos (the longest one when several start there).
    size_t hit = std::string_view::npos, hit_len = 0;
    int32_t hit_id = -1;
    for (const auto& [s, id] : specials_) {
      const size_t p = text.find(s, pos);
      if (p < hit || (p == hit && p != std::string_view::npos && s.size() > hit_len))
        hit = p, hit_len = s.size(), hit_id = id;
    }
    const size_t end = hit == std::string_view::npos ? text.size() : hit;
    encode_ordinary_(text.substr(pos, end - pos), cache, cached, out);
    if (hit == std::string_view::npos) break;
    out.push_back(hit_id);
    pos = hit + hit_len;
  }
  return out;
}

std::string Gpt2Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string s;
  for (int32_t id : ids) {
    TLM_CHECK(id >= 0 && id < vocab_size(), "gpt2 tokenizer: cannot decode id {} (vocabulary {})",
              id, vocab_size());
    s += token_bytes_[id];
  }
  return s;
}

}  // namespace tlm::train
