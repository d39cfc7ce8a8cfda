#include "train/data/token_dir.h"

#include <fmt/format.h>

#include <filesystem>

#include "tensor/error.h"
#include "train/data/token_file.h"
#include "train/sys/file_io.h"
#include "train/sys/json_util.h"

namespace tlm::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSplitFiles[] = {"train.bin", "val.bin"};
constexpr int32_t kGpt2VocabSize = 50257;

std::string join(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

// A non-negative integer field of meta.json.
uint64_t meta_uint(const nlohmann::json& j, const char* key, const std::string& where) {
  TLM_CHECK(j.is_object() && j.contains(key) && j.at(key).is_number_unsigned(),
            "data: {} lacks a non-negative integer '{}'", where, key);
  return j.at(key).get<uint64_t>();
}

// Scans one split file: whole ids, every id inside the vocabulary.
TokenFileScan scan_split(const std::string& path, TokenDType dtype, const Tokenizer& tok) {
  TokenFileScan s = scan_token_file(path, dtype);
  TLM_CHECK(s.count > 0, "data: '{}' holds no tokens", path);
  TLM_CHECK(s.max_id < tok.vocab_size(),
            "data: '{}' holds id {}, outside the vocabulary of the {} tokenizer ({} ids): the "
            "file was written with another tokenizer", path, s.max_id, tok.name(), tok.vocab_size());
  return s;
}

}  // namespace

std::string crc32_hex(uint32_t crc) { return fmt::format("{:08x}", crc); }

bool is_token_dir(const std::string& data) {
  std::error_code ec;
  return !data.empty() && fs::is_directory(data, ec);
}

TokenDir open_token_dir(const std::string& dir, const std::string& tokenizer_name,
                        const std::function<std::unique_ptr<Tokenizer>()>& gpt2) {
  const std::string meta_path = join(dir, "meta.json");
  std::unique_ptr<Tokenizer> tok;
  TokenDType dtype = TokenDType::U16;
  nlohmann::json meta;
  if (!fs::exists(meta_path)) {
    const bool nanogpt = fs::exists(join(dir, "train.bin")) && fs::exists(join(dir, "val.bin"));
    TLM_CHECK(nanogpt && tokenizer_name == "gpt2",
              "data: '{}' has no meta.json, so it was not written by `tlm prepare`{}", dir,
              nanogpt ? fmt::format("; it holds train.bin and val.bin like a nanoGPT prepare.py "
                                    "directory (uint16 GPT-2 ids), which trains with tokenizer = "
                                    "gpt2, but the config says tokenizer = {}", tokenizer_name)
                      : std::string(" (nor by nanoGPT's prepare.py: no train.bin and val.bin)"));
    tok = gpt2();
    TLM_CHECK(tok->vocab_size() == kGpt2VocabSize,
              "data: '{}' (nanoGPT, no meta.json) needs the GPT-2 vocabulary of {} ids; the {} "
              "tokenizer has {}", dir, kGpt2VocabSize, tok->name(), tok->vocab_size());
  } else {
    const std::string text = read_file(meta_path, "data");
    try {
      meta = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      TLM_FAIL("data: '{}' is not valid JSON: {}", meta_path, e.what());
    }
    TLM_CHECK(json_string_or(meta, "format") == kTokenMetaFormat,
              "data: '{}' is not a tlm token directory description (no \"format\": \"{}\")",
              meta_path, kTokenMetaFormat);
    TLM_CHECK(meta.contains("version") && meta.at("version") == kTokenMetaVersion,
              "data: '{}' has unsupported version {} (this build reads version {})", meta_path,
              meta.contains("version") ? meta.at("version").dump() : "(missing)", kTokenMetaVersion);
    const std::string name = json_string_or(meta, "tokenizer");
    TLM_CHECK(name == tokenizer_name,
              "data: '{}' was prepared with tokenizer = {}, but the config says tokenizer = {} "
              "(set tokenizer = {})", dir, name.empty() ? "(missing)" : name, tokenizer_name,
              name.empty() ? "?" : name);
    dtype = parse_token_dtype(json_string_or(meta, "dtype"), meta_path);
    const std::string tok_file = json_string_or(meta, "tokenizer_file", "tokenizer.json");
    TLM_CHECK(tok_file.find('/') == std::string::npos,
              "data: '{}' names tokenizer_file '{}'; it must be a file of the directory", meta_path, tok_file);
    tok = load_tokenizer_file(join(dir, tok_file));
    TLM_CHECK(tok->name() == name,
              "data: meta.json does not match '{}': it is a {} tokenizer, meta.json says {}",
              join(dir, tok_file), tok->name(), name);
    const uint64_t vocab = meta_uint(meta, "vocab_size", meta_path);
    TLM_CHECK(vocab == static_cast<uint64_t>(tok->vocab_size()),
              "data: meta.json does not match '{}': meta.json says vocab_size = {}, the tokenizer "
              "has {} ids", join(dir, tok_file), vocab, tok->vocab_size());
    TLM_CHECK(dtype == token_dtype_for(tok->vocab_size()) || dtype == TokenDType::U32,
              "data: '{}' says dtype {}, too narrow for a vocabulary of {} ids", meta_path,
              token_dtype_name(dtype), tok->vocab_size());
    TLM_CHECK(meta.contains("files") && meta.at("files").is_object(),
              "data: '{}' lacks the 'files' object", meta_path);
  }

  TokenDir out{std::move(tok), Dataset(std::vector<int32_t>{0, 0}, 0.5), nlohmann::json::object(), 0, 0};
  out.files["dir"] = dir;
  out.files["dtype"] = token_dtype_name(dtype);
  for (const char* name : kSplitFiles) {
    const std::string path = join(dir, name);
    TLM_CHECK(fs::exists(path), "data: '{}' lacks {}", dir, name);
    TokenFileScan s = scan_split(path, dtype, *out.tokenizer);
    if (!meta.is_null()) {
      const std::string where = fmt::format("'{}' (files.{})", meta_path, name);
      TLM_CHECK(meta.at("files").contains(name), "data: {} is missing", where);
      const nlohmann::json& f = meta.at("files").at(name);
      const uint64_t tokens = meta_uint(f, "tokens", where), bytes = meta_uint(f, "bytes", where);
      TLM_CHECK(tokens == s.count && bytes == s.bytes,
                "data: meta.json does not match '{}': meta.json records {} tokens ({} bytes), "
                "the file holds {} ({} bytes)", path, tokens, bytes, s.count, s.bytes);
      const std::string crc = json_string_or(f, "crc32");
      TLM_CHECK(crc == crc32_hex(s.crc32),
                "data: meta.json does not match '{}': its crc32 is {}, meta.json records {} (the "
                "file changed after tlm prepare wrote it)", path, crc32_hex(s.crc32),
                crc.empty() ? "(missing)" : crc);
    }
    out.files[name] = {{"bytes", s.bytes}, {"crc32", crc32_hex(s.crc32)}};
    out.bytes += s.bytes;
    out.crc32 = crc32_update(out.crc32, &s.crc32, sizeof(s.crc32));
  }
  out.data = Dataset(MappedTokens(join(dir, "train.bin"), dtype), MappedTokens(join(dir, "val.bin"), dtype), dir);
  return out;
}

void check_token_files_unchanged(const nlohmann::json& meta, const nlohmann::json& files,
                                 const Tokenizer& tok, const std::string& ckpt) {
  const std::string dir = files.value("dir", std::string("?"));
  TLM_CHECK(meta.contains("data_files") && meta.at("data_files").is_object(),
            "resume: {} was not trained on a prepared token directory, but data = {} is one",
            ckpt, dir);
  const nlohmann::json& saved = meta.at("data_files");
  for (const char* name : kSplitFiles) {
    const nlohmann::json was = saved.contains(name) ? saved.at(name) : nlohmann::json();
    const nlohmann::json& is = files.at(name);
    TLM_CHECK(was == is,
              "resume: '{}' changed since {} was written (now {} bytes, crc32 {}; then {}): "
              "resuming on other data would not continue the same run",
              join(dir, name), ckpt, is.at("bytes").dump(), is.at("crc32").get<std::string>(),
              was.is_null() ? "not recorded" : fmt::format("{} bytes, crc32 {}", was.value("bytes", uint64_t{0}),
                                                             json_string_or(was, "crc32", "?")));
  }
  TLM_CHECK(meta.contains("tokenizer") && meta.at("tokenizer") == tok.to_json(),
            "resume: the tokenizer of '{}' is not the one {} was trained with", dir, ckpt);
}

}  // namespace tlm::train
