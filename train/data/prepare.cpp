#include "train/data/prepare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <tuple>

#include "tensor/error.h"
#include "train/data/char_tokenizer.h"
#include "train/data/parallel_encode.h"
#include "train/data/token_dir.h"
#include "train/data/token_file.h"
#include "train/sys/file_io.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

namespace fs = std::filesystem;

namespace {

constexpr int32_t kGpt2EndOfText = 50256;  // <|endoftext|>

// The selected tokenizer's keys (train/data/tokenizer.h): those given, checked, the rest at
// their defaults.
nn::KeyValues tokenizer_keys(const PrepareOptions& o) {
  return nn::with_defaults(tokenizer_registry().get(o.tokenizer).keys, o.tokenizer_keys,
                           fmt::format("prepare: tokenizer {}", o.tokenizer));
}

std::unique_ptr<Tokenizer> train_tokenizer(const PrepareOptions& o,
                                           const std::vector<std::string>& docs) {
  const std::vector<std::string_view> views(docs.begin(), docs.end());
  return make_tokenizer(o.tokenizer, views, tokenizer_keys(o));
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

}  // namespace

std::vector<std::string> prepare_input_files(const std::vector<std::string>& paths) {
  TLM_CHECK(!paths.empty(), "prepare: no input (give --data FILE or DIR, one or more)");
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && e.path().extension() == ".txt") found.push_back(e.path().string());
      TLM_CHECK(!found.empty(), "prepare: directory '{}' holds no .txt files", p);
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      TLM_CHECK(fs::is_regular_file(p, ec), "prepare: input '{}' is not a file or directory", p);
      files.push_back(p);
    }
  }
  return files;
}

int32_t end_of_text_id(const Tokenizer& tok) {
  if (tok.name() == "bpe") return 0;  // the byte 0x00
  if (tok.name() == "gpt2") return kGpt2EndOfText;
  if (const auto* c = dynamic_cast<const CharTokenizer*>(&tok)) {
    const auto& sym = c->symbols();
    for (size_t i = 0; i < sym.size(); ++i)
      if (sym[i] == std::string(1, '\0')) return static_cast<int32_t>(i);
    TLM_FAIL("prepare: this char tokenizer has no \"\\0\" symbol to end documents with");
  }
  TLM_FAIL("prepare: the {} tokenizer has no end-of-text token: prepare one input at a time",
           tok.name());
}

nlohmann::json prepare_tokens(const PrepareOptions& o, const PrepareProgress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto report = [&](std::string_view phase, uint64_t done, uint64_t total) {
    if (progress) progress(phase, done, total);
  };
  TLM_CHECK(o.val_fraction > 0.0 && o.val_fraction < 1.0,
            "prepare: --val_fraction {} must be in (0, 1)", o.val_fraction);
  TLM_CHECK(o.threads >= 1, "prepare: --threads {} must be at least 1", o.threads);
  TLM_CHECK(!o.out.empty(), "prepare: --out DIR is required");
  for (const char* name : {"meta.json", "train.bin", "val.bin", "tokenizer.json"})
    TLM_CHECK(!fs::exists(fs::path(o.out) / name),
              "prepare: '{}' already holds {}; choose another --out or remove the old files "
              "(tlm never overwrites a prepared directory)", o.out, name);

  // Read.
  const std::vector<std::string> files = prepare_input_files(o.inputs);
  uint64_t total = 0;
  for (const auto& f : files) total += fs::file_size(f);
  std::vector<std::string> docs;
  docs.reserve(files.size());
  nlohmann::json sources = nlohmann::json::array();
  uint64_t done = 0;
  for (const auto& f : files) {
    docs.push_back(read_file(f, "prepare"));
    const std::string& d = docs.back();
    TLM_CHECK(files.size() == 1 || d.find('\0') == std::string::npos,
              "prepare: '{}' holds a NUL byte (at byte {}), which ends documents when there are "
              "several inputs; prepare it on its own", f, d.find('\0'));
    sources.push_back({{"path", absolute(f)}, {"bytes", d.size()}, {"crc32", crc32_hex(crc32(d))}});
    done += d.size();
    report("read", done, total);
  }
  total = done;
  TLM_CHECK(total > 0, "prepare: the inputs hold no text (0 bytes)");

  // Train the tokenizer.
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  // CPU time of the process (all threads): on a shared machine, wall time measures the load.
  auto cpu_since = [](std::clock_t c) { return static_cast<double>(std::clock() - c) / CLOCKS_PER_SEC; };
  report("train tokenizer", 0, total);
  const auto t_tok = Clock::now();
  const std::clock_t c_tok = std::clock();
  std::unique_ptr<Tokenizer> tok = train_tokenizer(o, docs);
  const double tokenizer_s = since(t_tok), tokenizer_cpu_s = cpu_since(c_tok);
  report("train tokenizer", total, total);
  const int32_t eot = files.size() > 1 ? end_of_text_id(*tok) : -1;

  // Encode, document by document, in blocks so that progress moves; the ids stream into one
  // scratch file of the final dtype (memory: one block's ids, not the corpus's).
  fs::create_directories(o.out);
  const TokenDType dtype = token_dtype_for(tok->vocab_size());
  const std::string all_path = (fs::path(o.out) / "all.bin.part").string();
  struct RemoveScratch {
    std::string path;
    ~RemoveScratch() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } scratch{all_path};
  uint64_t n_ids = 0;
  done = 0;
  const auto t_enc = Clock::now();
  const std::clock_t c_enc = std::clock();
  {
    TokenFileWriter all(all_path, dtype, "prepare");
    constexpr size_t kBlock = size_t{32} << 20;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (i > 0) all.write(std::span<const int32_t>(&eot, 1));
      const std::string_view d = docs[i];
      const uint64_t before = all.count();
      for (size_t start = 0; start < d.size();) {
        const size_t end = next_safe_cut(d, start + kBlock);
        std::vector<int32_t> part;
        try {
          part = encode_parallel(*tok, d.substr(start, end - start), o.threads);
        } catch (const Error& e) {
          TLM_FAIL("prepare: cannot tokenize '{}' with the {} tokenizer: {}", files[i], tok->name(), e.what());
        }
        all.write(part);
        done += end - start;
        report("encode", done, total);
        start = end;
      }
      sources[i]["tokens"] = all.count() - before;
      std::string().swap(docs[i]);  // the text is no longer needed
    }
    all.commit();
    n_ids = all.count();
  }
  const double encode_s = since(t_enc), encode_cpu_s = cpu_since(c_enc);
  TLM_CHECK(n_ids >= 2, "prepare: the inputs give {} token(s); a split needs at least 2", n_ids);

  // Split by tokens, as Dataset does: n_train = floor((1 - val_fraction) * n).
  const auto n_train = static_cast<uint64_t>(std::floor((1.0 - o.val_fraction) * static_cast<double>(n_ids)));
  TLM_CHECK(n_train > 0 && n_train < n_ids,
            "prepare: val_fraction {} of {} tokens leaves a split empty", o.val_fraction, n_ids);

  // Write: the split files (copied out of the scratch file), the tokenizer, and last meta.json
  // (which marks the directory done).
  nlohmann::json files_meta = nlohmann::json::object();
  const MappedTokens all(all_path, dtype);
  const std::tuple<const char*, uint64_t, uint64_t> splits[] = {{"train.bin", 0, n_train},
                                                               {"val.bin", n_train, n_ids}};
  std::vector<int32_t> block;
  for (const auto& [name, from, to] : splits) {
    TokenFileWriter w((fs::path(o.out) / name).string(), dtype, "prepare");
    constexpr uint64_t kWriteBlock = uint64_t{1} << 20;
    for (uint64_t k = from; k < to; k += kWriteBlock) {
      const uint64_t len = std::min(kWriteBlock, to - k);
      block.resize(static_cast<size_t>(len));
      all.read(static_cast<int64_t>(k), static_cast<int64_t>(len), block.data());
      w.write(block);
      report("write", k + len, n_ids);
    }
    w.commit();
    files_meta[name] = {{"tokens", w.count()},
                        {"bytes", w.count() * token_dtype_bytes(dtype)},
                        {"crc32", crc32_hex(w.crc32())}};
  }
  tok->save((fs::path(o.out) / "tokenizer.json").string());
  nlohmann::json meta = {{"format", kTokenMetaFormat},
                         {"version", kTokenMetaVersion},
                         {"tokenizer", tok->name()},
                         {"tokenizer_file", "tokenizer.json"},
                         {"vocab_size", tok->vocab_size()},
                         {"dtype", token_dtype_name(dtype)},
                         {"end_of_text", eot >= 0 ? nlohmann::json(eot) : nlohmann::json(nullptr)},
                         {"val_fraction", o.val_fraction},
                         {"tokens", n_ids},
                         {"files", files_meta},
                         {"sources", sources}};
  if (const std::string& k = tokenizer_registry().get(tok->name()).vocab_key; !k.empty())
    meta[k] = tokenizer_keys(o).integer(k);  // bpe: bpe_vocab_size, as asked for
  write_file_atomic((fs::path(o.out) / "meta.json").string(), meta.dump(1) + "\n", "prepare");

  const double s = since(t0);
  auto round3 = [](double x) { return std::round(x * 1000) / 1000; };
  return {{"out", o.out},
          {"tokenizer", tok->name()},
          {"vocab_size", tok->vocab_size()},
          {"dtype", token_dtype_name(dtype)},
          {"files", files.size()},
          {"bytes", total},
          {"tokens", n_ids},
          {"train_tokens", n_train},
          {"val_tokens", n_ids - n_train},
          {"threads", o.threads},
          {"seconds", round3(s)},
          {"tokenizer_seconds", round3(tokenizer_s)},
          {"tokenizer_cpu_seconds", round3(tokenizer_cpu_s)},
          {"encode_seconds", round3(encode_s)},
          {"encode_cpu_seconds", round3(encode_cpu_s)},
          {"encode_mb_per_s", std::round(static_cast<double>(total) / 1e6 / std::max(encode_s, 1e-9) * 10) / 10}};
}

}  // namespace tlm::train
