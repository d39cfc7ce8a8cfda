#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "tensor/random.h"
#include "tests/train/test_util.h"
#include "train/data/bpe_tokenizer.h"
#include "train/data/char_tokenizer.h"
#include "train/sys/file_io.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

const char* kShakespeare = TLM_SOURCE_DIR "/data/tinyshakespeare.txt";

std::string shakespeare_or_skip() {
  if (!std::filesystem::exists(kShakespeare)) return {};
  return read_file(kShakespeare, "test");
}

std::string random_bytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng.randint(256));
  return s;
}

// ---- char ----

TEST(CharTokenizer, ShakespeareMatchesTorchGpt) {
  const std::string text = shakespeare_or_skip();
  if (text.empty()) GTEST_SKIP() << kShakespeare << " is absent";
  CharTokenizer tok = CharTokenizer::build(text);
  // /usr/bin/python3: chars = sorted(set(text)); [stoi[c] for c in text[:20]]
  const std::string chars = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ASSERT_EQ(tok.vocab_size(), 65);
  for (int i = 0; i < 65; ++i) EXPECT_EQ(tok.symbols()[i], std::string(1, chars[i])) << i;
  std::vector<int32_t> ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  const std::vector<int32_t> first20 = {18, 47, 56, 57, 58, 1, 15, 47, 58, 47,
                                        64, 43, 52, 10, 0, 14, 43, 44, 53, 56};
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + 20), first20);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.encode("hi!"), (std::vector<int32_t>{46, 47, 2}));
}

TEST(CharTokenizer, Utf8SymbolsSortByCodePoint) {
  // Python: sorted(set("zé€😀ÿA\n")) == ['\n', 'A', 'z', 'é', 'ÿ', '€', '😀']
  CharTokenizer tok = CharTokenizer::build("zé€😀ÿA\nzz€");
  EXPECT_EQ(tok.symbols(),
            (std::vector<std::string>{"\n", "A", "z", "é", "ÿ", "€", "😀"}));
  EXPECT_EQ(tok.encode("😀é\n"), (std::vector<int32_t>{6, 3, 0}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{6, 3, 0}), "😀é\n");
}

TEST(CharTokenizer, InvalidUtf8BytesAreSymbolsAndRoundTrip) {
  // A lone lead byte, a surrogate, an overlong '/', a value above U+10FFFF, a cut-off '€'.
  const std::string text = std::string("a\xC3") + "A" + "\xED\xA0\x80" + "\xC0\xAF" +
                           "\xF4\x90\x80\x80" + "é" + "\xE2\x82";
  CharTokenizer tok = CharTokenizer::build(text);
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  // Each invalid byte is one symbol; "é" (valid) is one.
  EXPECT_EQ(tok.encode(text).size(), 1 + 1 + 1 + 3 + 2 + 4 + 1 + 2u);
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xED\x9F\xBF", 0), 3u);  // U+D7FF, just below surrogates
  EXPECT_EQ(utf8_sequence_length("\xF4\x8F\xBF\xBF", 0), 4u);  // U+10FFFF

  const std::string bin = random_bytes(20000, 3);
  CharTokenizer btok = CharTokenizer::build(bin);
  EXPECT_EQ(btok.decode(btok.encode(bin)), bin);
  // JSON keeps lone bytes as numbers, so the vocabulary survives a dump/parse.
  auto back = CharTokenizer::from_json(nlohmann::json::parse(btok.to_json().dump()));
  EXPECT_EQ(back.symbols(), btok.symbols());
}

TEST(CharTokenizer, UnknownSymbolsAndIdsAreNamed) {
  CharTokenizer tok = CharTokenizer::build("abc\n");
  EXPECT_TLM_ERROR(tok.encode("abd"), "'d' (byte 0x64)", "byte offset 2", "4 symbols");
  EXPECT_TLM_ERROR(tok.encode("aé"), "'é' (U+00E9, bytes 0xc3 0xa9)", "byte offset 1");
  EXPECT_TLM_ERROR(tok.encode("\xFF"), "byte 0xff (not part of valid UTF-8)");
  EXPECT_TLM_ERROR(tok.encode("\t"), "control character U+0009");
  EXPECT_TLM_ERROR(tok.decode(std::vector<int32_t>{0, 4}), "id 4 at position 1", "[0, 4)");
  EXPECT_TLM_ERROR(CharTokenizer::build(""), "empty");
  EXPECT_TLM_ERROR(CharTokenizer({"a", "a"}), "'a' (byte 0x61) appears twice");
  EXPECT_TLM_ERROR(CharTokenizer({"ab"}), "neither one byte nor one UTF-8 character");
}

// ---- bpe ----

TEST(BpeTokenizer, PretokenizerKeepsWordsAndSpaces) {
  const std::string text = "Hello world, 42 times!\n\n  Yes\tno  ";
  std::vector<std::string_view> pieces = bpe_pretokenize(text);
  std::vector<std::string> got(pieces.begin(), pieces.end());
  EXPECT_EQ(got, (std::vector<std::string>{"Hello", " world", ",", " 42", " times", "!", "\n\n ",
                                           " Yes", "\t", "no", "  "}));
  std::string joined;
  for (auto p : pieces) joined += p;
  EXPECT_EQ(joined, text);
  // UTF-8 letters stay inside their word.
  pieces = bpe_pretokenize("naïve café");
  EXPECT_EQ(std::vector<std::string>(pieces.begin(), pieces.end()),
            (std::vector<std::string>{"naïve", " café"}));
}

TEST(BpeTokenizer, ClassicExampleMerges) {
  // "aaabdaaabac": (a,a) x4 first; then (a,b) and (256,a) tie at 2 -> smaller ids (a,b).
  BpeTokenizer tok = BpeTokenizer::train("aaabdaaabac", 259);
  EXPECT_EQ(tok.merges(), (std::vector<std::pair<int32_t, int32_t>>{{'a', 'a'}, {'a', 'b'}, {256, 257}}));
  EXPECT_EQ(tok.token_bytes(258), "aaab");
  EXPECT_EQ(tok.encode("aaabdaaabac"), (std::vector<int32_t>{258, 'd', 258, 'a', 'c'}));
  // Runs out of pairs: stops early rather than inventing tokens.
  BpeTokenizer small = BpeTokenizer::train("ab", 1000);
  EXPECT_EQ(small.vocab_size(), 257);
}

// Reference trainer: recount every pair of every word before each merge.
std::vector<std::pair<int32_t, int32_t>> naive_bpe(std::string_view text, int32_t vocab) {
  std::map<std::string, int64_t> count;
  for (auto p : bpe_pretokenize(text)) ++count[std::string(p)];
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  for (const auto& [w, c] : count) {
    std::vector<int32_t> s;
    for (unsigned char ch : w) s.push_back(ch);
    words.push_back(s);
    freq.push_back(c);
  }
  std::vector<std::pair<int32_t, int32_t>> merges;
  while (256 + static_cast<int32_t>(merges.size()) < vocab) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pc;
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pc[{words[w][i], words[w][i + 1]}] += freq[w];
    if (pc.empty()) break;
    auto best = pc.begin();
    for (auto it = pc.begin(); it != pc.end(); ++it)
      if (it->second > best->second) best = it;  // ties keep the smaller pair (map order)
    const auto [a, b] = best->first;
    const int32_t id = 256 + static_cast<int32_t>(merges.size());
    merges.push_back(best->first);
    for (auto& s : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          out.push_back(id);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = out;
    }
  }
  return merges;
}

TEST(BpeTokenizer, IncrementalCountsMatchFullRecount) {
  std::string text = shakespeare_or_skip().substr(0, 30000);
  if (text.empty()) text = "the cat sat on the mat; the dog ate the hat. 1234 1234 aaaa bbbb ";
  text += "aaaaaaa bananas, banana! 99999 \xF0\x9F\x98\x80\xF0\x9F\x98\x80 ";
  EXPECT_EQ(BpeTokenizer::train(text, 600).merges(), naive_bpe(text, 600));
}

TEST(BpeTokenizer, ShakespeareTwoThousandInSeconds) {
  const std::string text = shakespeare_or_skip();
  if (text.empty()) GTEST_SKIP() << kShakespeare << " is absent";
  auto t0 = std::chrono::steady_clock::now();
  BpeTokenizer tok = BpeTokenizer::train(text, 2000);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok.vocab_size(), 2000);
  t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = tok.encode(text);
  const double encode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok.decode(ids), text);
  // ~2.9 bytes per token at 1,744 merges (GPT-2's 50k vocabulary: ~3.3); char-level is 1.
  EXPECT_LT(ids.size() * 5, text.size() * 2) << ids.size() << " tokens";
  EXPECT_LT(train_s, 30.0);  // a guard against a quadratic algorithm (0.25 s idle), not a benchmark
  EXPECT_LT(encode_s, 30.0);
  RecordProperty("train_seconds", std::to_string(train_s));
  RecordProperty("encode_seconds", std::to_string(encode_s));
}

TEST(BpeTokenizer, RoundTripsAnyBytesAndJson) {
  std::string text = "Hello hello HELLO, hello world. Wörld wörld wörld 123 123 123\n\n";
  for (int i = 0; i < 5; ++i) text += text;
  BpeTokenizer tok = BpeTokenizer::train(text, 320);
  const std::string bin = random_bytes(5000, 11) + text + random_bytes(100, 12);
  std::vector<int32_t> ids = tok.encode(bin);
  EXPECT_EQ(tok.decode(ids), bin);
  BpeTokenizer back = BpeTokenizer::from_json(nlohmann::json::parse(tok.to_json().dump()));
  EXPECT_EQ(back.merges(), tok.merges());
  EXPECT_EQ(back.encode(bin), ids);
  EXPECT_LT(tok.encode(text).size(), text.size() / 3);
}

TEST(BpeTokenizer, ErrorsNameTheProblem) {
  EXPECT_TLM_ERROR(BpeTokenizer::train("abc", 100), "vocab_size 100 is below the 256");
  EXPECT_TLM_ERROR(BpeTokenizer({{'a', 300}}), "merge 0 = (97, 300) uses an id outside [0, 256)");
  EXPECT_TLM_ERROR(BpeTokenizer({{'a', 'b'}, {'a', 'b'}}), "repeats merge 0");
  BpeTokenizer tok({{'a', 'b'}});
  EXPECT_TLM_ERROR(tok.decode(std::vector<int32_t>{257}), "id 257 at position 0", "[0, 257)");
  nlohmann::json j = tok.to_json();
  j["version"] = 9;
  EXPECT_TLM_ERROR(BpeTokenizer::from_json(j), "unsupported version 9");
  j = tok.to_json();
  j["merges"] = {{1, 2, 3}};
  EXPECT_TLM_ERROR(BpeTokenizer::from_json(j), "merge 0 is not a pair of ids");
}

// ---- registry and files ----

TEST(TokenizerRegistry, MakeLoadSave) {
  TempDir dir;
  const std::string text = "To be, or not to be, that is the question. Tö bé!\n";
  EXPECT_EQ(tokenizer_names(), (std::vector<std::string>{"char", "bpe", "gpt2"}));  // gpt2: test_gpt2_tokenizer.cpp
  for (const std::string name : {"char", "bpe"}) {
    SCOPED_TRACE(name);
    auto tok = make_tokenizer(name, text, {{"bpe_vocab_size", 270}});
    EXPECT_EQ(tok->name(), name);
    auto from_meta = load_tokenizer(tok->to_json());
    EXPECT_EQ(from_meta->vocab_size(), tok->vocab_size());
    EXPECT_EQ(from_meta->encode(text), tok->encode(text));
    tok->save(dir / (name + ".json"));
    auto from_file = Tokenizer::load(dir / (name + ".json"));
    EXPECT_EQ(from_file->encode(text), tok->encode(text));
    EXPECT_EQ(from_file->decode(tok->encode(text)), text);
  }
  EXPECT_EQ(dir.files(), (std::vector<std::string>{"bpe.json", "char.json"}));
  EXPECT_TLM_ERROR(make_tokenizer("wordpiece", text), "unknown tokenizer 'wordpiece'",
                   "known: char, bpe");
  EXPECT_TLM_ERROR(load_tokenizer(nlohmann::json{{"type", "sp"}}), "unknown tokenizer 'sp'");
  EXPECT_TLM_ERROR(load_tokenizer(nlohmann::json::array()), "lacks a string 'type'");

  testing::write_bytes(dir / "bad.json", "{not json");
  EXPECT_TLM_ERROR(load_tokenizer_file(dir / "bad.json"), "bad.json", "not valid JSON");
  testing::write_bytes(dir / "other.json", R"({"format": "something"})");
  EXPECT_TLM_ERROR(load_tokenizer_file(dir / "other.json"), "not a tlm tokenizer file");
  testing::write_bytes(dir / "v2.json", R"({"format": "tlm-tokenizer", "version": 2})");
  EXPECT_TLM_ERROR(load_tokenizer_file(dir / "v2.json"), "unsupported version 2");
  EXPECT_TLM_ERROR(load_tokenizer_file(dir / "none.json"), "tokenizer: cannot open", "none.json");
}

}  // namespace
}  // namespace tlm::train
