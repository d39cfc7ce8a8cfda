#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <set>

#include "tensor/random.h"
#include "tests/common/expect_error.h"
#include "tests/train/gpt2_files.h"
#include "tests/train/test_util.h"
#include "train/data/gpt2_tokenizer.h"
#include "train/data/unicode_classes.h"
#include "train/sys/file_io.h"

namespace tlm::train {
namespace {

using testing::TempDir;

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

// A small vocabulary: the 256 byte tokens (ids 0..255 in byte order), one token per merge,
// then the special "<|endoftext|>".
struct TinyVocab {
  std::vector<std::string> tokens;  // id -> token spelling
  std::vector<std::string> merges;  // "left right"
  std::string vocab_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (size_t i = 0; i < tokens.size(); ++i) j[tokens[i]] = i;
    return j.dump();
  }
  std::string merges_txt() const {
    std::string s = "#version: 0.2\n";
    for (const auto& m : merges) s += m + "\n";
    return s;
  }
  Gpt2Tokenizer build() const { return Gpt2Tokenizer::from_text(vocab_json(), merges_txt(), "tiny"); }
};

TinyVocab tiny_vocab(const std::vector<std::pair<std::string, std::string>>& merges) {
  TinyVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(utf8(gpt2_byte_to_unicode()[b]));
  for (const auto& [l, r] : merges) {
    v.merges.push_back(l + " " + r);
    v.tokens.push_back(l + r);
  }
  v.tokens.push_back("<|endoftext|>");
  return v;
}

// ---- the byte map and the character classes ----

TEST(Gpt2Tokenizer, ByteToUnicodeIsGpt2sMap) {
  const auto& m = gpt2_byte_to_unicode();
  // encoder.py: printable bytes map to themselves; the 68 others to U+0100.. in byte order:
  // 0..32 -> U+0100..U+0120, 127..160 -> U+0121..U+0142, 173 -> U+0143.
  EXPECT_EQ(m['A'], U'A');
  EXPECT_EQ(m[0xE9], U'\u00E9');
  EXPECT_EQ(m[0], U'\u0100');
  EXPECT_EQ(m['\n'], U'\u010A');  // 'Ċ'
  EXPECT_EQ(m[' '], U'\u0120');   // 'Ġ'
  EXPECT_EQ(m[127], U'\u0121');
  EXPECT_EQ(m[160], U'\u0142');
  EXPECT_EQ(m[173], U'\u0143');
  std::set<char32_t> distinct(m.begin(), m.end());
  EXPECT_EQ(distinct.size(), 256u);
}

TEST(Gpt2Tokenizer, UnicodeClasses) {
  using namespace unicode;
  for (char32_t c : {U'a', U'Z', U'\u00E9', U'\u4F60', U'\u0416', U'\u05D0', U'\u00AA', U'\u02B0'})
    EXPECT_TRUE(is_letter(c)) << static_cast<uint32_t>(c);
  for (char32_t c : {U'0', U'\u00B2', U'\u0663', U'\u216B', U'\u2460'})
    EXPECT_TRUE(is_number(c)) << static_cast<uint32_t>(c);
  for (char32_t c : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', U'\u0085', U'\u00A0', U'\u1680',
                     U'\u2000', U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'})
    EXPECT_TRUE(is_space(c)) << static_cast<uint32_t>(c);
  // Marks, symbols, punctuation, format characters: none of the three.
  for (char32_t c : {U'\u0301', U'!', U'\u00A9', U'\U0001F600', U'\u200B', U'\uFEFF', U'\u001C', U'_'})
    EXPECT_FALSE(is_letter(c) || is_number(c) || is_space(c)) << static_cast<uint32_t>(c);
}

TEST(Gpt2Tokenizer, DecodeUtf8RefusesMalformedSequences) {
  using unicode::decode_utf8;
  size_t len = 0;
  EXPECT_EQ(decode_utf8("\xE4\xBD\xA0", 0, len), U'\u4F60');
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80", 0, len), U'\U0001F600');
  EXPECT_EQ(len, 4u);
  for (std::string bad : {"\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                          "\xE4\xBD", "\xFF", "\xC3("}) {
    EXPECT_EQ(decode_utf8(bad, 0, len), unicode::kInvalid) << bad;
    EXPECT_EQ(len, 1u);
  }
}

// ---- the pre-tokeniser (expected pieces worked out by hand from the pattern) ----

TEST(Gpt2Tokenizer, PretokenizeFollowsGpt2sPattern) {
  using P = std::vector<std::string>;
  const std::vector<std::pair<std::string, P>> cases = {
      {"Hello world's", {"Hello", " world", "'s"}},
      {"I'll  go", {"I", "'ll", " ", " go"}},                // \s+(?!\S) leaves the last space
      {"a\r\n\tb", {"a", "\r\n", "\t", "b"}},                // only U+0020 joins the next piece
      {"x   ", {"x", "   "}},                              // trailing run: whole
      {"12345 67", {"12345", " 67"}},
      {"Caf\u00E9", {"Caf\u00E9"}},
      {"Cafe\u0301!", {"Cafe", "\u0301!"}},                  // a combining mark is "other"
      {"a\u00A0b", {"a", "\u00A0", "b"}},                    // NBSP is whitespace
      {"a \u00A0b", {"a", " ", "\u00A0", "b"}},
      {"\u4F60\u597D\u4E16\u754C!", {"\u4F60\u597D\u4E16\u754C", "!"}},
      {"\U0001F600\U0001F600 ok", {"\U0001F600\U0001F600", " ok"}},
      {"don't?!", {"don", "'t", "?!"}},
      {"?'s", {"?'", "s"}},                                   // no contraction inside a run
      {"'S 're've", {"'", "S", " '", "re", "'ve"}},         // case-sensitive; " '" is other
      {"\xFF\xFE" "ab", {"\xFF\xFE", "ab"}},                 // stray bytes: "other"
      {"\u216B\u00B2x", {"\u216B\u00B2", "x"}},              // Nl and No are numbers
      {" \n", {" \n"}},
      {"a\u3000\u3000b", {"a", "\u3000", "\u3000", "b"}},  // only U+0020 joins a word
      {"", {}},
  };
  for (const auto& [text, want] : cases) {
    std::vector<std::string> got;
    for (auto p : gpt2_pretokenize(text)) got.emplace_back(p);
    EXPECT_EQ(got, want) << "text: " << text;
  }
}

// ---- BPE on a vocabulary small enough to check by hand ----

TEST(Gpt2Tokenizer, TinyVocabularyMergesLowestRankFirst) {
  const Gpt2Tokenizer tok = tiny_vocab({{"a", "b"}, {"ab", "c"}, {"c", "c"}, {"b", "c"}}).build();
  // ids: bytes 0..255, "ab" 256, "abc" 257, "cc" 258, "bc" 259, "<|endoftext|>" 260.
  using V = std::vector<int32_t>;
  EXPECT_EQ(tok.vocab_size(), 261);
  EXPECT_EQ(tok.encode("abc"), (V{257}));        // (a,b) rank 0, then (ab,c) rank 1
  EXPECT_EQ(tok.encode("bcc"), (V{'b', 258}));    // (c,c) rank 2 beats (b,c) rank 3
  EXPECT_EQ(tok.encode("cccc"), (V{258, 258}));   // leftmost first
  EXPECT_EQ(tok.encode("ccc"), (V{258, 'c'}));
  EXPECT_EQ(tok.encode("bc"), (V{259}));
  EXPECT_EQ(tok.encode("abc abc"), (V{257, ' ', 257}));  // " abc": no merge has a space
  EXPECT_EQ(tok.encode("ab<|endoftext|>c"), (V{256, 260, 'c'}));
  EXPECT_EQ(tok.eot_id(), 260);
  EXPECT_EQ(tok.decode(V{257, 260, 258}), "abc<|endoftext|>cc");
}

// The plain BPE (a list, the lowest-ranked pair merged at its leftmost place, repeated), as in
// openai/gpt-2 encoder.py, on token strings.
std::vector<std::string> naive_bpe(const std::string& piece, const std::map<std::pair<std::string, std::string>, int>& rank) {
  std::vector<std::string> w;
  for (char c : piece) w.emplace_back(1, c);
  while (w.size() > 1) {
    int best = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      auto it = rank.find({w[i], w[i + 1]});
      if (it != rank.end() && (best < 0 || it->second < best)) best = it->second, at = i;
    }
    if (best < 0) break;
    w[at] += w[at + 1];
    w.erase(w.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  return w;
}

TEST(Gpt2Tokenizer, HeapBpeMatchesPlainBpeOnRandomMerges) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    std::vector<std::string> known = {"a", "b", "c"};
    std::vector<std::pair<std::string, std::string>> merges;
    std::map<std::pair<std::string, std::string>, int> rank;
    std::set<std::string> tokens(known.begin(), known.end());
    while (merges.size() < 40) {
      const std::string l = known[rng.randint(known.size())], r = known[rng.randint(known.size())];
      if (tokens.count(l + r) || l.size() + r.size() > 12) continue;
      rank[{l, r}] = static_cast<int>(merges.size());
      merges.emplace_back(l, r);
      known.push_back(l + r);
      tokens.insert(l + r);
    }
    const Gpt2Tokenizer tok = tiny_vocab(merges).build();
    for (int trial = 0; trial < 30; ++trial) {
      std::string piece(1 + rng.randint(60), 'a');
      for (auto& ch : piece) ch = static_cast<char>('a' + rng.randint(3));
      std::string want_bytes;
      std::vector<int32_t> ids = tok.encode(piece);
      std::vector<std::string> want = naive_bpe(piece, rank);
      ASSERT_EQ(ids.size(), want.size()) << "seed " << seed << " piece " << piece;
      for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(tok.token(ids[i]), want[i]);
    }
  }
}

TEST(Gpt2Tokenizer, InvalidUtf8AndRandomBytesRoundTrip) {
  const Gpt2Tokenizer tok = tiny_vocab({{"a", "b"}, {"\xC4\xA0", "a"}}).build();  // "Ġ a": " a"
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Rng rng(seed);
    std::string s(500, '\0');
    for (auto& c : s) c = static_cast<char>(rng.randint(256));
    const auto ids = tok.encode(s);
    EXPECT_EQ(tok.decode(ids), s);
    for (int32_t id : ids) EXPECT_LT(id, tok.vocab_size());
  }
  EXPECT_EQ(tok.encode("\xFF" " ab"), (std::vector<int32_t>{255, ' ', 256}));  // (a,b) ranks first
}

// The per-call piece cache (the fast path) against encoding each piece on its own.
TEST(Gpt2Tokenizer, CachedEncodeMatchesPieceByPiece) {
  const Gpt2Tokenizer tok = tiny_vocab({{"a", "b"}, {"\xC4\xA0", "ab"}, {"b", "a"}}).build();
  const std::string text = "ab ab ab ba ab\n\nab ba  ab ab";
  std::vector<int32_t> want;
  for (auto piece : gpt2_pretokenize(text)) {
    const auto ids = tok.encode(piece);
    want.insert(want.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(tok.encode(text), want);
}

TEST(Gpt2Tokenizer, RefusesMalformedFiles) {
  const TinyVocab v = tiny_vocab({{"a", "b"}});
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text("{not json", v.merges_txt(), "x"), "not valid JSON");
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text("[1,2]", v.merges_txt(), "x"), "not an object");
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text(v.vocab_json(), "#version: 0.2\na b\nab\n", "x"),
                        "merge 2 'ab' is not two tokens");
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text(v.vocab_json(), "a b\nb a\n", "x"),
                        "merge 2 'b a': 'ba' is not in the vocabulary");
  nlohmann::json j = nlohmann::json::parse(v.vocab_json());
  j["z"] = 9999;
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text(j.dump(), v.merges_txt(), "x"), "token 'z' has id 9999");
  j = nlohmann::json::parse(v.vocab_json());
  j.erase("a");
  j["x y"] = 97;  // a space is not in GPT-2's byte alphabet
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_text(j.dump(), v.merges_txt(), "x"), "not spelt in GPT-2's byte alphabet");
  EXPECT_TLM_ERROR(Gpt2Tokenizer::from_dir(""), "tokenizer_dir");
  EXPECT_TLM_ERROR(v.build().decode(std::vector<int32_t>{258}), "cannot decode id 258");
}

// ---- GPT-2's own files, against OpenAI's encoder ----

// tiktoken's ids for each file, via node (tests/reference/gpt2_encode.js): one run of node.
std::vector<std::vector<int32_t>> tiktoken_ids(const std::vector<std::string>& files) {
  std::string cmd = "node " TLM_SOURCE_DIR "/tests/reference/gpt2_encode.js '" + testing::kNodeModules + "'";
  for (const auto& f : files) cmd += " '" + f + "'";
  bool ok = false;
  const std::string out = testing::run_command(cmd, ok);
  EXPECT_TRUE(ok) << "node tests/reference/gpt2_encode.js failed";
  std::vector<std::vector<int32_t>> ids;
  for (size_t pos = 0; ok && pos < out.size();) {
    const size_t nl = out.find('\n', pos);
    ids.push_back(nlohmann::json::parse(out.substr(pos, nl - pos)).get<std::vector<int32_t>>());
    pos = nl + 1;
  }
  EXPECT_EQ(ids.size(), files.size());
  ids.resize(files.size());
  return ids;
}

// Every case of the issue: accents (composed and not), CJK, emoji (with joiners and skin
// tones), CRLF, tabs, runs of spaces, NBSP and other Unicode spaces, digits, contractions,
// other scripts, the special token.
const char* kMixedText =
    "Hello world! It's a test: don't, I'm, we'll, they've, you're, he'd.\r\n"
    "Caf\u00E9 na\u00EFve r\u00E9sum\u00E9 cafe\u0301 \u00C5ngstr\u00F6m Stra\u00DFe \u0141\u00F3d\u017A\n"
    "\u4F60\u597D\uFF0C\u4E16\u754C\u3002\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8 \uD55C\uAD6D\uC5B4\n"
    "Emoji: \U0001F600\U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467 \u2764\uFE0F!\n"
    "\ttab\t\tdouble tab\n    four spaces    then text   \n"
    "nbsp:\u00A0x\u00A0\u00A0y \u00A0z, thin\u2009space, ideographic\u3000space, nel\u0085x\n"
    "digits 0 12 345 6789 3.14159 1,000,000 2024-01-01 \u0663\u0664 \u00BD \u2167\n"
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439 \u03BA\u03CC\u03C3\u03BC\u03B5 "
    "\u05E9\u05DC\u05D5\u05DD \u0645\u0631\u062D\u0628\u0627 \u0928\u092E\u0938\u094D\u0924\u0947\n"
    "<|endoftext|>after the end   \n\n\n  trailing";

TEST(Gpt2TokenizerReference, MatchesTiktokenOnEveryCase) {
  const std::string dir = testing::gpt2_vocab_dir();
  if (dir.empty() || !testing::tiktoken_available()) GTEST_SKIP() << testing::kGpt2Missing;
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir(dir);
  EXPECT_EQ(tok.vocab_size(), 50257);
  EXPECT_EQ(tok.eot_id(), 50256);
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  TempDir tmp;
  // The whole text, then each line on its own (other splits of the special token and spaces).
  std::vector<std::string> texts = {kMixedText}, files;
  std::string line;
  for (const char* p = kMixedText;; ++p) {
    if (*p && *p != '\n') {
      line += *p;
      continue;
    }
    texts.push_back(line);
    line.clear();
    if (!*p) break;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    files.push_back(tmp / fmt::format("text{}.txt", i));
    write_file_atomic(files.back(), texts[i], "test");
  }
  const auto want = tiktoken_ids(files);
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> got = tok.encode(texts[i]);
    EXPECT_EQ(got, want[i]) << texts[i];
    EXPECT_EQ(tok.decode(got), texts[i]);
  }
}

TEST(Gpt2TokenizerReference, MatchesTiktokenOnTinyShakespeare) {
  const std::string dir = testing::gpt2_vocab_dir();
  if (dir.empty() || !testing::tiktoken_available()) GTEST_SKIP() << testing::kGpt2Missing;
  const std::string path = TLM_SOURCE_DIR "/data/tinyshakespeare.txt";
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir(dir);
  const std::string text = read_file(path, "test");
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> got = tok.encode(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("gpt2 encode: %zu bytes -> %zu tokens in %.3f s (%.2f MB/s)\n", text.size(),
              got.size(), s, static_cast<double>(text.size()) / s / 1e6);
  EXPECT_EQ(got.size(), 338025u);
  EXPECT_EQ(got, tiktoken_ids({path})[0]);
  EXPECT_EQ(tok.decode(got), text);
}

TEST(Gpt2TokenizerReference, JsonAndFilesRoundTrip) {
  const std::string dir = testing::gpt2_vocab_dir();
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir(dir);
  const auto again = load_tokenizer(nlohmann::json::parse(tok.to_json().dump()));
  const auto files = Gpt2Tokenizer::from_text(tok.vocab_json(), tok.merges_txt(), "round trip");
  EXPECT_EQ(again->name(), "gpt2");
  EXPECT_EQ(again->encode(kMixedText), tok.encode(kMixedText));
  EXPECT_EQ(files.encode(kMixedText), tok.encode(kMixedText));
  EXPECT_EQ(files.merges_txt(), read_file(dir + "/vocab.bpe", "test"));
  EXPECT_EQ(nlohmann::json::parse(files.vocab_json()), nlohmann::json::parse(read_file(dir + "/encoder.json", "test")));
  // Through the registry, as `tokenizer = gpt2` + `tokenizer_dir` builds it for tlm train.
  EXPECT_EQ(make_tokenizer("gpt2", "", {{"tokenizer_dir", dir}})->encode("To be, or not"), tok.encode("To be, or not"));
}

}  // namespace
}  // namespace tlm::train
