#include "train/data/tokenizer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

#include "tensor/error.h"
#include "train/sys/json_util.h"
#include "train/data/bpe_tokenizer.h"
#include "train/data/char_tokenizer.h"
#include "train/data/gpt2_tokenizer.h"
#include "train/sys/file_io.h"

namespace tlm::train {

namespace {

constexpr const char* kFileFormat = "tlm-tokenizer";
constexpr int kFileVersion = 1;

std::string known_names() { return fmt::format("{}", fmt::join(tokenizer_names(), ", ")); }

const TokenizerType& find(std::string_view name) {
  if (const TokenizerType* t = tokenizer_registry().find(std::string(name))) return *t;
  TLM_FAIL("tokenizer: unknown tokenizer '{}' (known: {})", name, known_names());
}

}  // namespace

// The list: one entry per tokenizer (in this file rather than a registration constant in each
// tokenizer's file, which the linker would drop from the static library with an unreferenced
// object file). Fields: name, help, keys, make, load, check, vocab_key.
nn::Registry<TokenizerType>& tokenizer_registry() {
  static nn::Registry<TokenizerType> registry = [] {
    nn::Registry<TokenizerType> r("tokenizer");
    r.add({"char", "one id per character of the data", {},
         [](std::span<const std::string_view> docs, const nn::KeyValues&) {
           if (docs.size() <= 1)
             return std::make_unique<CharTokenizer>(CharTokenizer::build(docs.empty() ? "" : docs[0]));
           std::string all;  // joined by "\0", so that the separator is a symbol
           size_t n = 0;
           for (std::string_view d : docs) n += d.size() + 1;
           all.reserve(n);
           for (size_t i = 0; i < docs.size(); ++i) {
             if (i > 0) all += '\0';
             all += docs[i];
           }
           return std::make_unique<CharTokenizer>(CharTokenizer::build(all));
         },
         [](const nlohmann::json& j) { return std::make_unique<CharTokenizer>(CharTokenizer::from_json(j)); }});
    r.add({"bpe", "byte-level BPE trained on the data",
         {nn::EntryKey::integer("bpe_vocab_size", "512", "BPE vocabulary: 256 bytes + merges (tokenizer = bpe)",
                                nn::KeyRange::closed(256, 1 << 20))},
         [](std::span<const std::string_view> docs, const nn::KeyValues& k) {
           return std::make_unique<BpeTokenizer>(
               BpeTokenizer::train(docs, static_cast<int32_t>(k.integer("bpe_vocab_size"))));
         },
         [](const nlohmann::json& j) { return std::make_unique<BpeTokenizer>(BpeTokenizer::from_json(j)); },
         {},
         "bpe_vocab_size"});
    r.add({"gpt2", "GPT-2's tokenizer, read from tokenizer_dir (not trained)",
         {nn::EntryKey{"tokenizer_dir", nn::KeyType::String, "",
                       "tokenizer = gpt2: the directory of vocab.json + merges.txt (or encoder.json + vocab.bpe)",
                       {}}},
         [](std::span<const std::string_view>, const nn::KeyValues& k) {
           return std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::from_dir(k.text("tokenizer_dir")));
         },
         [](const nlohmann::json& j) { return std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::from_json(j)); },
         [](const nn::KeyValues& v) {
           TLM_CHECK(!v.text("tokenizer_dir").empty(),
                     "config: tokenizer = gpt2 needs tokenizer_dir = DIR (holding vocab.json and merges.txt)");
         }});
    return r;
  }();
  return registry;
}

std::vector<std::string> tokenizer_names() { return tokenizer_registry().names(); }

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          std::span<const std::string_view> documents,
                                          const nn::KeyValues& keys) {
  const TokenizerType& type = find(name);
  return type.make(documents, nn::with_defaults(type.keys, keys, fmt::format("tokenizer {}", name)));
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name, std::string_view corpus,
                                          const nn::KeyValues& keys) {
  return make_tokenizer(name, std::span<const std::string_view>(&corpus, 1), keys);
}

std::unique_ptr<Tokenizer> load_tokenizer(const nlohmann::json& j) {
  TLM_CHECK(j.is_object() && j.contains("type") && j.at("type").is_string(),
            "tokenizer: JSON lacks a string 'type' (known: {})", known_names());
  return find(j.at("type").get<std::string>()).load(j);
}

void Tokenizer::save(const std::string& path) const {
  nlohmann::json file = {{"format", kFileFormat}, {"version", kFileVersion}, {"tokenizer", to_json()}};
  write_file_atomic(path, file.dump(1) + "\n", "tokenizer");
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) { return load_tokenizer_file(path); }

std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path) {
  return load_tokenizer_text(read_file(path, "tokenizer"), path);
}

std::unique_ptr<Tokenizer> load_tokenizer_text(std::string_view text, std::string_view path) {
  nlohmann::json file;
  try {
    file = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("tokenizer: '{}' is not valid JSON: {}", path, e.what());
  }
  TLM_CHECK(json_string_or(file, "format") == kFileFormat,
            "tokenizer: '{}' is not a tlm tokenizer file (no \"format\": \"{}\")", path, kFileFormat);
  TLM_CHECK(file.contains("version") && file.at("version") == kFileVersion,
            "tokenizer: '{}' has unsupported version {} (this build reads version {})", path,
            file.contains("version") ? file.at("version").dump() : "(missing)", kFileVersion);
  TLM_CHECK(file.contains("tokenizer"), "tokenizer: '{}' lacks the 'tokenizer' object", path);
  return load_tokenizer(file.at("tokenizer"));
}

}  // namespace tlm::train
