// Data at scale: token files, `tlm prepare`, memory-mapped datasets, parallel encoding.
// Every prepared id is checked against an in-memory encode of the same text, and every mapped
// batch against the in-memory batch of the same seed.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "tests/train/gpt2_files.h"
#include "tests/train/test_util.h"
#include "train/data/bpe_tokenizer.h"
#include "train/data/char_tokenizer.h"
#include "train/data/data.h"
#include "train/data/parallel_encode.h"
#include "train/data/prepare.h"
#include "train/data/token_dir.h"
#include "train/data/token_file.h"
#include "train/sys/file_io.h"

namespace tlm::train {
namespace {

using testing::TempDir;

std::vector<int32_t> read_ids(const std::string& path, TokenDType d) {
  MappedTokens m(path, d);
  std::vector<int32_t> ids(static_cast<size_t>(m.size()));
  m.read(0, m.size(), ids.data());
  return ids;
}

// Text that exercises every pre-token rule: runs of spaces and newlines, " \n", tabs, digits,
// punctuation, UTF-8, CRLF, and a few safe cuts ("x\nY").
std::string tricky_text(uint64_t seed, size_t bytes) {
  const char* parts[] = {"the", " king", "  ", "\n", "\n\n", " \n", "\t", "42", " 7", ",", "!?",
                         "é", " Ünï", "\r\n", "A", "zz", "   word", "'s", ".", "\n Z"};
  Rng rng(seed);
  std::string s;
  while (s.size() < bytes) s += parts[rng.randint(20)];
  return s;
}

std::string shakespeare() {
  const std::string path = TLM_SOURCE_DIR "/data/tinyshakespeare.txt";
  return read_text_file(path);
}

// ---- token files ----

TEST(TokenFile, LittleEndianUint16AndUint32RoundTrip) {
  TempDir dir;
  EXPECT_EQ(token_dtype_for(65536), TokenDType::U16);
  EXPECT_EQ(token_dtype_for(65537), TokenDType::U32);
  {
    TokenFileWriter w(dir / "a.bin", TokenDType::U16, "test");
    w.write(std::vector<int32_t>{1, 258, 65535});
    w.write(std::vector<int32_t>{0});
    w.commit();
    EXPECT_EQ(w.count(), 4u);
  }
  EXPECT_EQ(testing::read_bytes(dir / "a.bin"), std::string("\x01\x00\x02\x01\xff\xff\x00\x00", 8));
  EXPECT_EQ(read_ids(dir / "a.bin", TokenDType::U16), (std::vector<int32_t>{1, 258, 65535, 0}));
  TokenFileScan s = scan_token_file(dir / "a.bin", TokenDType::U16);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.bytes, 8u);
  EXPECT_EQ(s.max_id, 65535);
  EXPECT_EQ(s.crc32, crc32(testing::read_bytes(dir / "a.bin")));
  {
    TokenFileWriter w(dir / "b.bin", TokenDType::U32, "test");
    w.write(std::vector<int32_t>{70000, 3});
    w.commit();
  }
  EXPECT_EQ(testing::read_bytes(dir / "b.bin"), std::string("\x70\x11\x01\x00\x03\x00\x00\x00", 8));
  EXPECT_EQ(read_ids(dir / "b.bin", TokenDType::U32), (std::vector<int32_t>{70000, 3}));
  // Bigger than the scan buffer, so the chunked crc32 and max are checked too.
  std::vector<int32_t> many(700000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int32_t>((i * 7919) % 60000);
  {
    TokenFileWriter w(dir / "c.bin", TokenDType::U16, "test");
    w.write(many);
    w.commit();
  }
  s = scan_token_file(dir / "c.bin", TokenDType::U16);
  EXPECT_EQ(s.count, many.size());
  EXPECT_EQ(s.max_id, *std::max_element(many.begin(), many.end()));
  EXPECT_EQ(s.crc32, crc32(testing::read_bytes(dir / "c.bin")));
  EXPECT_EQ(read_ids(dir / "c.bin", TokenDType::U16), many);
}

TEST(TokenFile, BadFilesAndIdsAreRefused) {
  TempDir dir;
  {
    TokenFileWriter w(dir / "a.bin", TokenDType::U16, "test");
    EXPECT_TLM_ERROR(w.write(std::vector<int32_t>{5, 65536}), "65536", "position 1", "uint16");
    EXPECT_TLM_ERROR(w.write(std::vector<int32_t>{-1}), "-1", "uint16");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "a.bin"));  // never committed
  testing::write_bytes(dir / "odd.bin", "abc");
  EXPECT_TLM_ERROR(scan_token_file(dir / "odd.bin", TokenDType::U16), "odd.bin", "3 bytes", "multiple of 2");
  EXPECT_TLM_ERROR(MappedTokens(dir / "odd.bin", TokenDType::U32), "odd.bin", "multiple of 4");
  EXPECT_TLM_ERROR(MappedTokens(dir / "none.bin", TokenDType::U16), "cannot open", "none.bin");
  testing::write_bytes(dir / "four.bin", std::string(8, '\0'));
  MappedTokens m(dir / "four.bin", TokenDType::U16);
  int32_t out[4];
  EXPECT_TLM_ERROR(m.read(2, 3, out), "outside", "four.bin");
}

// ---- parallel encoding ----

TEST(ParallelEncode, EverySafeCutKeepsTheIds) {
  // The property encode_parallel relies on, checked directly at every safe cut.
  const std::string text = tricky_text(3, 3000) + "end\nStart" + tricky_text(4, 3000);
  auto ch = make_tokenizer("char", text);
  auto bpe = make_tokenizer("bpe", text, {{"bpe_vocab_size", 400}});
  int cuts = 0;
  for (size_t p = next_safe_cut(text, 0); p < text.size(); p = next_safe_cut(text, p + 1)) {
    ++cuts;
    for (const Tokenizer* tok : {ch.get(), bpe.get()}) {
      std::vector<int32_t> a = tok->encode(std::string_view(text).substr(0, p));
      std::vector<int32_t> b = tok->encode(std::string_view(text).substr(p));
      a.insert(a.end(), b.begin(), b.end());
      ASSERT_EQ(a, tok->encode(text)) << tok->name() << " cut at " << p;
    }
  }
  EXPECT_GT(cuts, 5);
  // And the cuts are where the rule says.
  EXPECT_EQ(next_safe_cut("ab\ncd", 0), 3u);
  EXPECT_EQ(next_safe_cut("ab\ncd", 4), 5u);      // none after 3: the end
  EXPECT_EQ(next_safe_cut("a \ncd\n\nef\nX", 0), 10u);  // " \n" and "\n\n" are not cuts
}

TEST(ParallelEncode, SameIdsAsOneThreadForEveryTokenizerAndThreadCount) {
  const std::string text = shakespeare().substr(0, 300000) + tricky_text(9, 100000);
  for (const char* kind : {"char", "bpe"}) {
    auto tok = make_tokenizer(kind, text, {{"bpe_vocab_size", 600}});
    const std::vector<int32_t> one = tok->encode(text);
    for (int threads : {1, 2, 3, 4})
      for (size_t chunk : {size_t{1000}, size_t{65536}, size_t{4} << 20}) {
        SCOPED_TRACE(fmt::format("{} threads {} chunk {}", kind, threads, chunk));
        EXPECT_EQ(split_at_safe_cuts(text, chunk).size() > 1, chunk < text.size());
        EXPECT_EQ(encode_parallel(*tok, text, threads, chunk), one);
      }
  }
  auto tok = make_tokenizer("char", "abc\n");
  EXPECT_TLM_ERROR(encode_parallel(*tok, "abc\nabc\nxyz\nabc", 2, 2), "char tokenizer");
}

// ---- prepare ----

PrepareOptions options(const std::vector<std::string>& inputs, const std::string& tok,
                       const std::string& out) {
  PrepareOptions o;
  o.inputs = inputs;
  o.tokenizer = tok;
  o.tokenizer_keys.set("bpe_vocab_size", int64_t{400});
  o.out = out;
  o.threads = 2;
  o.val_fraction = 0.1;
  return o;
}

TEST(Prepare, OneFileGivesTheInMemoryEncodeSplitByTokens) {
  TempDir dir;
  const std::string text = shakespeare().substr(0, 200000);
  testing::write_bytes(dir / "in.txt", text);
  for (const char* kind : {"char", "bpe"}) {
    SCOPED_TRACE(kind);
    const std::string out = dir / (std::string("out_") + kind);
    nlohmann::json summary = prepare_tokens(options({dir / "in.txt"}, kind, out));
    auto tok = make_tokenizer(kind, text, {{"bpe_vocab_size", 400}});
    auto saved = load_tokenizer_file(out + "/tokenizer.json");
    EXPECT_EQ(saved->to_json(), tok->to_json());
    const std::vector<int32_t> ids = tok->encode(text);
    const auto n_train = static_cast<size_t>(std::floor(0.9 * static_cast<double>(ids.size())));
    auto train = read_ids(out + "/train.bin", TokenDType::U16);
    auto val = read_ids(out + "/val.bin", TokenDType::U16);
    EXPECT_EQ(train.size(), n_train);
    train.insert(train.end(), val.begin(), val.end());
    EXPECT_EQ(train, ids);
    EXPECT_EQ(summary.at("tokens"), ids.size());
    EXPECT_EQ(summary.at("train_tokens"), n_train);
    const nlohmann::json meta = nlohmann::json::parse(testing::read_bytes(out + "/meta.json"));
    EXPECT_EQ(meta.at("tokenizer"), kind);
    EXPECT_EQ(meta.at("vocab_size"), tok->vocab_size());
    EXPECT_EQ(meta.at("dtype"), "uint16");
    EXPECT_EQ(meta.at("sources").size(), 1u);
    EXPECT_EQ(meta.at("sources")[0].at("bytes"), text.size());
    EXPECT_EQ(meta.at("sources")[0].at("crc32"), crc32_hex(crc32(text)));
    EXPECT_EQ(meta.at("files").at("val.bin").at("crc32"),
              crc32_hex(crc32(testing::read_bytes(out + "/val.bin"))));
    // Never overwritten.
    EXPECT_TLM_ERROR(prepare_tokens(options({dir / "in.txt"}, kind, out)), "already holds", out);
  }
}

TEST(Prepare, Gpt2FromItsFilesJoinsDocumentsWithEndOfText50256) {
  TempDir dir;
  const std::string a = "First document.\nIt has caf\u00e9 and 2024 in it.\n", b = "  Second,\r\n\tone!";
  testing::write_bytes(dir / "a.txt", a);
  testing::write_bytes(dir / "b.txt", b);
  PrepareOptions o = options({dir / "a.txt", dir / "b.txt"}, "gpt2", dir / "out");
  // Without the directory of its files the gpt2 tokenizer cannot be built: a clear error.
  EXPECT_TLM_ERROR(prepare_tokens(o), "gpt2");
  const std::string vocab = testing::gpt2_vocab_dir();
  if (vocab.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  o.tokenizer_keys.set("tokenizer_dir", vocab);
  o.val_fraction = 0.25;
  const nlohmann::json summary = prepare_tokens(o);
  auto tok = load_tokenizer_file(dir / "out/tokenizer.json");
  EXPECT_EQ(tok->name(), "gpt2");
  EXPECT_EQ(end_of_text_id(*tok), 50256);
  std::vector<int32_t> want = tok->encode(a);
  want.push_back(50256);
  const auto eb = tok->encode(b);
  want.insert(want.end(), eb.begin(), eb.end());
  auto got = read_ids(dir / "out/train.bin", TokenDType::U16);
  const auto val = read_ids(dir / "out/val.bin", TokenDType::U16);
  EXPECT_EQ(got.size(), static_cast<size_t>(std::floor(0.75 * static_cast<double>(want.size()))));
  got.insert(got.end(), val.begin(), val.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(summary.at("vocab_size"), 50257);
  const nlohmann::json meta = nlohmann::json::parse(testing::read_bytes(dir / "out/meta.json"));
  EXPECT_EQ(meta.at("tokenizer"), "gpt2");
  EXPECT_EQ(meta.at("dtype"), "uint16");
  EXPECT_EQ(meta.at("end_of_text"), 50256);
}

TEST(Prepare, SeveralDocumentsAreJoinedByEndOfTextIdZero) {
  TempDir dir;
  std::filesystem::create_directories(dir / "docs/sub");
  const std::string a = "First document.\nIt has two lines.\n", b = "Second one, é!", c = "third";
  testing::write_bytes(dir / "docs/a.txt", a);
  testing::write_bytes(dir / "docs/sub/c.txt", c);
  testing::write_bytes(dir / "docs/ignored.md", "not text");
  testing::write_bytes(dir / "b.txt", b);
  EXPECT_EQ(prepare_input_files({dir / "docs", dir / "b.txt"}),
            (std::vector<std::string>{dir / "docs/a.txt", dir / "docs/sub/c.txt", dir / "b.txt"}));
  for (const char* kind : {"char", "bpe"}) {
    SCOPED_TRACE(kind);
    const std::string out = dir / (std::string("out_") + kind);
    PrepareOptions o = options({dir / "docs", dir / "b.txt"}, kind, out);
    o.val_fraction = 0.3;
    prepare_tokens(o);
    auto tok = load_tokenizer_file(out + "/tokenizer.json");
    EXPECT_EQ(end_of_text_id(*tok), 0);
    const int32_t zero = 0;
    EXPECT_EQ(tok->decode(std::span<const int32_t>(&zero, 1)), std::string(1, '\0'));
    std::vector<int32_t> want = tok->encode(a);
    for (const std::string* d : {&c, &b}) {
      want.push_back(0);
      const auto e = tok->encode(*d);
      want.insert(want.end(), e.begin(), e.end());
    }
    auto got = read_ids(out + "/train.bin", TokenDType::U16);
    const auto val = read_ids(out + "/val.bin", TokenDType::U16);
    got.insert(got.end(), val.begin(), val.end());
    EXPECT_EQ(got, want);
    if (std::string(kind) == "char") {
      EXPECT_EQ(tok->decode(got), a + '\0' + c + '\0' + b);
    }
    const nlohmann::json meta = nlohmann::json::parse(testing::read_bytes(out + "/meta.json"));
    EXPECT_EQ(meta.at("end_of_text"), 0);
    EXPECT_EQ(meta.at("sources").size(), 3u);
  }
  testing::write_bytes(dir / "nul.txt", std::string("a\0b", 3));
  EXPECT_TLM_ERROR(prepare_tokens(options({dir / "b.txt", dir / "nul.txt"}, "bpe", dir / "o2")),
                   "nul.txt", "NUL byte", "byte 1");
  EXPECT_TLM_ERROR(prepare_tokens(options({dir / "missing"}, "bpe", dir / "o3")), "missing");
  EXPECT_TLM_ERROR(prepare_tokens(options({dir / "docs/sub/none"}, "bpe", dir / "o3")), "none");
}

// ---- the mapped dataset ----

TEST(TokenDir, MappedBatchesEqualInMemoryBatchesForTheSameSeed) {
  TempDir dir;
  const std::string text = shakespeare().substr(0, 100000);
  testing::write_bytes(dir / "in.txt", text);
  for (const char* kind : {"char", "bpe"}) {
    SCOPED_TRACE(kind);
    const std::string out = dir / (std::string("out_") + kind);
    prepare_tokens(options({dir / "in.txt"}, kind, out));
    auto tok = make_tokenizer(kind, text, {{"bpe_vocab_size", 400}});
    Dataset mem(text, *tok, 0.9, "in.txt");
    TokenDir d = open_token_dir(out, kind, [] { return std::unique_ptr<Tokenizer>(); });
    ASSERT_TRUE(d.data.mapped());
    EXPECT_EQ(d.data.size(Split::Train), mem.size(Split::Train));
    EXPECT_EQ(d.data.size(Split::Val), mem.size(Split::Val));
    EXPECT_EQ(d.data.read(Split::Val, 0, mem.size(Split::Val)), mem.tokens(Split::Val));
    EXPECT_TLM_ERROR(d.data.tokens(Split::Train), "memory-mapped");
    Rng r1(1337), r2(1337);
    for (int i = 0; i < 20; ++i)
      for (Split s : {Split::Train, Split::Val}) {
        Batch a = mem.sample_batch(s, 4, 32, r1), b = d.data.sample_batch(s, 4, 32, r2);
        ASSERT_EQ(a.x.to_vector<int32_t>(), b.x.to_vector<int32_t>());
        ASSERT_EQ(a.y.to_vector<int32_t>(), b.y.to_vector<int32_t>());
      }
    EXPECT_EQ(d.files.at("train.bin").at("crc32"), crc32_hex(crc32(testing::read_bytes(out + "/train.bin"))));
  }
}

// Rewrites the file as `mutate` changes its bytes.
void edit(const std::string& path, const std::function<void(std::string&)>& mutate) {
  std::string b = testing::read_bytes(path);
  mutate(b);
  testing::write_bytes(path, b);
}

TEST(TokenDir, BadDirectoriesAreRefusedWithTheReason) {
  TempDir dir;
  const std::string text = shakespeare().substr(0, 20000);
  testing::write_bytes(dir / "in.txt", text);
  const std::string good = dir / "good";
  prepare_tokens(options({dir / "in.txt"}, "char", good));
  auto none = [] { return std::unique_ptr<Tokenizer>(); };
  auto fresh = [&](const std::string& name) {
    const std::string d = dir / name;
    std::filesystem::copy(good, d);
    return d;
  };
  EXPECT_TLM_ERROR(open_token_dir(good, "bpe", none), "prepared with tokenizer = char",
                   "tokenizer = bpe");
  std::string d = fresh("odd");
  edit(d + "/train.bin", [](std::string& b) { b.pop_back(); });
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "train.bin", "not a multiple of 2");
  d = fresh("big_id");
  const int32_t V = load_tokenizer_file(good + "/tokenizer.json")->vocab_size();
  ASSERT_LT(V, 128);
  edit(d + "/val.bin", [&](std::string& b) { b[2] = static_cast<char>(V); });  // one past the last id
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "val.bin", fmt::format("id {}", V),
                   "outside the vocabulary");
  d = fresh("changed");
  edit(d + "/val.bin", [](std::string& b) { b[2] = static_cast<char>(b[2] == 1 ? 2 : 1); });
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "meta.json does not match", "val.bin",
                   "changed after tlm prepare");
  d = fresh("short_meta");
  edit(d + "/meta.json", [](std::string& b) {
    auto j = nlohmann::json::parse(b);
    j["files"]["train.bin"]["tokens"] = j["files"]["train.bin"]["tokens"].get<uint64_t>() - 1;
    b = j.dump();
  });
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "meta.json does not match", "train.bin");
  d = fresh("vocab_meta");
  edit(d + "/meta.json", [](std::string& b) {
    auto j = nlohmann::json::parse(b);
    j["vocab_size"] = 99;
    b = j.dump();
  });
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "meta.json does not match", "vocab_size = 99");
  d = fresh("garbage_meta");
  testing::write_bytes(d + "/meta.json", "{not json");
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "meta.json", "not valid JSON");
  d = fresh("no_meta");
  std::filesystem::remove(d + "/meta.json");
  EXPECT_TLM_ERROR(open_token_dir(d, "char", none), "no meta.json", "nanoGPT", "tokenizer = gpt2");
  std::filesystem::create_directories(dir / "empty");
  EXPECT_TLM_ERROR(open_token_dir(dir / "empty", "gpt2", none), "no meta.json", "no train.bin");
}

TEST(TokenDir, NanoGptDirectoryTrainsWithTheGpt2Tokenizer) {
  // prepare.py's output: uint16 ids, no meta.json. A stand-in with GPT-2's 50257 ids (256 bytes
  // + 50001 two-byte merges) plays the gpt2 tokenizer, which is built only in this case.
  TempDir dir;
  std::vector<int32_t> ids(5000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 104729) % 50257);
  ids[17] = 50256;  // <|endoftext|>
  for (auto [name, from, to] : {std::tuple{"train.bin", 0, 4500}, std::tuple{"val.bin", 4500, 5000}}) {
    TokenFileWriter w(dir / name, TokenDType::U16, "test");
    w.write(std::span<const int32_t>(ids.data() + from, static_cast<size_t>(to - from)));
    w.commit();
  }
  int built = 0;
  auto gpt2 = [&] {
    ++built;
    std::vector<std::pair<int32_t, int32_t>> merges;
    for (int32_t r = 0; r < 50001; ++r) merges.emplace_back(r % 256, r / 256);
    return std::unique_ptr<Tokenizer>(std::make_unique<BpeTokenizer>(std::move(merges)));
  };
  TokenDir d = open_token_dir(dir.path().string(), "gpt2", gpt2);
  EXPECT_EQ(built, 1);
  EXPECT_EQ(d.data.size(Split::Train), 4500);
  EXPECT_EQ(d.data.read(Split::Val, 0, 500), std::vector<int32_t>(ids.begin() + 4500, ids.end()));
  EXPECT_EQ(d.files.at("dtype"), "uint16");
  // An id beyond GPT-2's vocabulary is refused.
  edit(dir / "train.bin", [](std::string& b) { b[0] = '\xff', b[1] = '\xff'; });
  EXPECT_TLM_ERROR(open_token_dir(dir.path().string(), "gpt2", gpt2), "train.bin", "id 65535");
}

}  // namespace
}  // namespace tlm::train

namespace tlm::train {
namespace {

TEST(BpeEncodeCache, CachedEncodeEqualsEncodingEachPieceAlone) {
  // The pre-token cache (an open-addressing table, grown many times here) against the plain
  // path: each piece encoded by a call of its own, where the cache has nothing to serve.
  const std::string text = shakespeare().substr(0, 150000) + tricky_text(11, 50000) +
                           std::string(300, 'a') + " " + std::string(300, 'a');
  auto tok = make_tokenizer("bpe", text, {{"bpe_vocab_size", 700}});
  std::vector<int32_t> plain;
  for (std::string_view piece : bpe_pretokenize(text)) {
    const std::vector<int32_t> p = tok->encode(piece);
    plain.insert(plain.end(), p.begin(), p.end());
  }
  EXPECT_EQ(tok->encode(text), plain);
  EXPECT_EQ(tok->decode(plain), text);
}

}  // namespace
}  // namespace tlm::train

namespace tlm::train {
namespace {

TEST(Prepare, AVocabularyBeyond65536IdsIsWrittenAsUint32) {
  // 70,000 distinct characters (code points from U+4E00 on, 3 or 4 UTF-8 bytes each), twice.
  TempDir dir;
  std::string text;
  for (int rep = 0; rep < 2; ++rep)
    for (uint32_t cp = 0x4E00; cp < 0x4E00 + 70000; ++cp) {
      if (cp >= 0xD800 && cp < 0xE000) continue;  // surrogates are not characters
      if (cp < 0x10000) {
        text += static_cast<char>(0xE0 | (cp >> 12));
      } else {
        text += static_cast<char>(0xF0 | (cp >> 18));
        text += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      }
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      text += static_cast<char>(0x80 | (cp & 0x3F));
    }
  testing::write_bytes(dir / "wide.txt", text);
  nlohmann::json s = prepare_tokens(options({dir / "wide.txt"}, "char", dir / "out"));
  EXPECT_EQ(s.at("dtype"), "uint32");
  auto tok = make_tokenizer("char", text);
  ASSERT_GT(tok->vocab_size(), 65536);
  auto ids = read_ids(dir / "out/train.bin", TokenDType::U32);
  const auto val = read_ids(dir / "out/val.bin", TokenDType::U32);
  ids.insert(ids.end(), val.begin(), val.end());
  EXPECT_EQ(ids, tok->encode(text));
  TokenDir d = open_token_dir(dir / "out", "char", [] { return std::unique_ptr<Tokenizer>(); });
  EXPECT_EQ(d.files.at("dtype"), "uint32");
  EXPECT_EQ(d.data.read(Split::Val, 0, d.data.size(Split::Val)), val);
}

}  // namespace
}  // namespace tlm::train
