#include "train/data/char_tokenizer.h"

#include <algorithm>
#include <set>

#include "tensor/error.h"
#include "train/sys/json_util.h"

namespace tlm::train {

namespace {

constexpr int kCharVersion = 1;

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// The symbol at s[i]: a valid multi-byte sequence, or one byte.
size_t symbol_length(std::string_view s, size_t i) {
  size_t n = utf8_sequence_length(s, i);
  return n == 0 ? 1 : n;
}

uint32_t code_point(std::string_view s, size_t i, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + i);
  switch (len) {
    case 2: return (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
    case 3: return (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    case 4: return (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
    default: return p[0];
  }
}

// How a symbol is named in errors: 'a', '\n' or U+00E9 'é' with its bytes.
std::string describe_symbol(std::string_view sym) {
  std::string bytes;
  for (unsigned char c : sym) bytes += fmt::format("{}0x{:02x}", bytes.empty() ? "" : " ", c);
  if (sym.size() == 1) {
    unsigned char c = static_cast<unsigned char>(sym[0]);
    if (c >= 0x80) return fmt::format("byte 0x{:02x} (not part of valid UTF-8)", c);
    if (c >= 0x20 && c < 0x7F) return fmt::format("'{}' (byte {})", sym, bytes);
    return fmt::format("control character U+{:04X} (byte {})", c, bytes);
  }
  return fmt::format("'{}' (U+{:04X}, bytes {})", sym, code_point(sym, 0, sym.size()), bytes);
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t left = s.size() - i;
  const unsigned char c = p[i];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && is_cont(p[i + 1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char c1 = p[i + 1];
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
    return c1 >= lo && c1 <= hi && is_cont(p[i + 2]) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char c1 = p[i + 1];
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return c1 >= lo && c1 <= hi && is_cont(p[i + 2]) && is_cont(p[i + 3]) ? 4 : 0;
  }
  return 0;
}

CharTokenizer CharTokenizer::build(std::string_view corpus) {
  TLM_CHECK(!corpus.empty(), "char tokenizer: cannot build a vocabulary from empty text");
  std::array<bool, 256> seen_byte{};
  std::set<std::string> multi;  // std::string orders bytes as unsigned: code point order
  for (size_t i = 0; i < corpus.size();) {
    const size_t n = symbol_length(corpus, i);
    if (n == 1)
      seen_byte[static_cast<unsigned char>(corpus[i])] = true;
    else
      multi.emplace(corpus.substr(i, n));
    i += n;
  }
  std::vector<std::string> symbols(multi.begin(), multi.end());
  for (int b = 0; b < 256; ++b)
    if (seen_byte[b]) symbols.emplace_back(1, static_cast<char>(b));
  std::sort(symbols.begin(), symbols.end());
  return CharTokenizer(std::move(symbols));
}

CharTokenizer::CharTokenizer(std::vector<std::string> symbols) : symbols_(std::move(symbols)) {
  byte_id_.fill(-1);
  TLM_CHECK(!symbols_.empty(), "char tokenizer: the vocabulary is empty");
  TLM_CHECK(symbols_.size() <= static_cast<size_t>(INT32_MAX), "char tokenizer: {} symbols",
            symbols_.size());
  for (size_t id = 0; id < symbols_.size(); ++id) {
    const std::string& s = symbols_[id];
    TLM_CHECK(!s.empty(), "char tokenizer: symbol {} is empty", id);
    if (s.size() == 1) {
      auto& slot = byte_id_[static_cast<unsigned char>(s[0])];
      TLM_CHECK(slot < 0, "char tokenizer: {} appears twice (ids {} and {})", describe_symbol(s),
                slot, id);
      slot = static_cast<int32_t>(id);
    } else {
      TLM_CHECK(utf8_sequence_length(s, 0) == s.size(),
                "char tokenizer: symbol {} ({} bytes) is neither one byte nor one UTF-8 character",
                id, s.size());
      auto [it, fresh] = cp_id_.emplace(code_point(s, 0, s.size()), static_cast<int32_t>(id));
      TLM_CHECK(fresh, "char tokenizer: {} appears twice (ids {} and {})", describe_symbol(s),
                it->second, id);
    }
  }
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : symbol_length(text, i);
    int32_t id = -1;
    if (n == 1) {
      id = byte_id_[c];
    } else {
      auto it = cp_id_.find(code_point(text, i, n));
      if (it != cp_id_.end()) id = it->second;
    }
    TLM_CHECK(id >= 0, "char tokenizer: {} at byte offset {} is not in the vocabulary ({} symbols)",
              describe_symbol(text.substr(i, n)), i, symbols_.size());
    ids.push_back(id);
    i += n;
  }
  return ids;
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const int32_t id = ids[k];
    TLM_CHECK(id >= 0 && id < vocab_size(),
              "char tokenizer: id {} at position {} is outside the vocabulary [0, {})", id, k,
              vocab_size());
    out += symbols_[static_cast<size_t>(id)];
  }
  return out;
}

nlohmann::json CharTokenizer::to_json() const {
  nlohmann::json syms = nlohmann::json::array();
  for (const std::string& s : symbols_) {
    if (s.size() == 1 && static_cast<unsigned char>(s[0]) >= 0x80)
      syms.push_back(static_cast<unsigned char>(s[0]));  // not valid UTF-8 on its own
    else
      syms.push_back(s);
  }
  return {{"type", "char"}, {"version", kCharVersion}, {"symbols", std::move(syms)}};
}

CharTokenizer CharTokenizer::from_json(const nlohmann::json& j) {
  TLM_CHECK(json_string_or(j, "type") == "char",
            "char tokenizer: JSON is not a char tokenizer (type '{}')",
            json_string_or(j, "type"));
  TLM_CHECK(j.contains("version") && j.at("version") == kCharVersion,
            "char tokenizer: unsupported version {} (this build reads version {})",
            j.contains("version") ? j.at("version").dump() : "(missing)", kCharVersion);
  TLM_CHECK(j.contains("symbols") && j.at("symbols").is_array(),
            "char tokenizer: JSON lacks the 'symbols' array");
  std::vector<std::string> symbols;
  for (const auto& s : j.at("symbols")) {
    if (s.is_string()) {
      symbols.push_back(s.get<std::string>());
    } else {
      TLM_CHECK(s.is_number_integer() && s.get<int64_t>() >= 0x80 && s.get<int64_t>() <= 0xFF,
                "char tokenizer: symbol {} is neither a string nor a byte value 128..255",
                s.dump());
      symbols.emplace_back(1, static_cast<char>(s.get<int64_t>()));
    }
  }
  return CharTokenizer(std::move(symbols));
}

}  // namespace tlm::train
