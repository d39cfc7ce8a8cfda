#include "tests/fuzz/targets.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tensor/error.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/data/data.h"
#include "train/sys/file_io.h"
#include "train/data/token_dir.h"
#include "train/data/tokenizer.h"
#include "train/io/safetensors.h"

namespace tlm::fuzz {
namespace {

// A broken invariant of a successful parse: not a tlm::Error, so it escapes as a finding.
#define FUZZ_REQUIRE(cond, ...)                                                      \
  do {                                                                               \
    if (!(cond))                                                                     \
      throw std::logic_error(fmt::format("fuzz contract: " __VA_ARGS__) + " [" #cond "]"); \
  } while (0)

template <class F>
void expect_ok_or_error(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // The parser refused the input with a message: the contract holds.
  }
}

bool same_tensor_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * dtype_size(a.dtype());
  if (n == 0) return true;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  const void* pa = ca.dtype() == DType::F32   ? static_cast<const void*>(ca.data<float>())
                   : ca.dtype() == DType::F64 ? static_cast<const void*>(ca.data<double>())
                                              : static_cast<const void*>(ca.data<int32_t>());
  const void* pb = cb.dtype() == DType::F32   ? static_cast<const void*>(cb.data<float>())
                   : cb.dtype() == DType::F64 ? static_cast<const void*>(cb.data<double>())
                                              : static_cast<const void*>(cb.data<int32_t>());
  return std::memcmp(pa, pb, n) == 0;
}

void decode_checkpoint_once(std::string_view bytes) {
  expect_ok_or_error([&] {
    train::Checkpoint ck = train::decode_checkpoint(bytes, "fuzz");
    // What loads must save and load back to the same thing.
    const train::Checkpoint back = train::decode_checkpoint(train::encode_checkpoint(ck), "again");
    FUZZ_REQUIRE(back.meta.dump() == ck.meta.dump(), "checkpoint metadata changed on re-encoding");
    FUZZ_REQUIRE(back.tensors.size() == ck.tensors.size(), "tensor count changed");
    for (size_t i = 0; i < ck.tensors.size(); ++i) {
      FUZZ_REQUIRE(back.tensors[i].first == ck.tensors[i].first, "tensor {} renamed", i);
      FUZZ_REQUIRE(same_tensor_bytes(back.tensors[i].second, ck.tensors[i].second),
                   "tensor '{}' changed on re-encoding", ck.tensors[i].first);
    }
  });
}

void check_config_round_trip(const train::TrainConfig& cfg) {
  const nlohmann::json j = cfg.to_json();
  // A resolved config is stored in every checkpoint: it must load back unchanged.
  train::TrainConfig back = train::TrainConfig::from_json(nlohmann::json::parse(j.dump()), "again");
  FUZZ_REQUIRE(back.to_json() == j, "config changed through JSON: {} vs {}", j.dump(),
               back.to_json().dump());
}

void check_tokenizer(const train::Tokenizer& tok, std::string_view sample) {
  const int32_t V = tok.vocab_size();
  FUZZ_REQUIRE(V > 0, "empty vocabulary");
  // Its JSON rebuilds the same tokenizer.
  auto again = train::load_tokenizer(nlohmann::json::parse(tok.to_json().dump()));
  FUZZ_REQUIRE(again->to_json() == tok.to_json(), "tokenizer changed through JSON");
  // Every id decodes; text it can encode decodes back to itself.
  std::vector<int32_t> all(static_cast<size_t>(std::min<int32_t>(V, 4096)));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  const std::string text = tok.decode(all);
  for (std::string_view s : {std::string_view(text), sample}) {
    expect_ok_or_error([&] {
      const std::vector<int32_t> ids = tok.encode(s);
      for (int32_t id : ids) FUZZ_REQUIRE(id >= 0 && id < V, "encode produced id {} of {}", id, V);
      FUZZ_REQUIRE(tok.decode(ids) == s, "decode(encode(s)) != s for the {} tokenizer", tok.name());
      FUZZ_REQUIRE(again->encode(s) == ids, "the reloaded tokenizer encodes differently");
    });
  }
  if (tok.name() == "bpe" || tok.name() == "gpt2") {
    // Byte-level BPE encodes every byte string.
    const std::vector<int32_t> ids = tok.encode(sample);
    FUZZ_REQUIRE(tok.decode(ids) == sample, "bpe does not round-trip its input");
  }
}

void parse_safetensors_once(std::string_view bytes) {
  expect_ok_or_error([&] {
    const train::SafetensorsFile f = train::SafetensorsFile::parse(bytes, "fuzz");
    std::vector<std::pair<std::string, Tensor>> floats;
    for (const auto& e : f.entries()) {
      if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16") continue;
      Tensor t = f.get_f32(e.name);
      FUZZ_REQUIRE(t.shape() == e.shape, "tensor '{}' read with another shape", e.name);
      floats.emplace_back(e.name, e.dtype == "F32" ? t : t.to(e.dtype == "F16" ? DType::F16 : DType::BF16));
    }
    // What was read writes and reads back to the same bits.
    const train::SafetensorsFile again = train::SafetensorsFile::parse(
        train::encode_safetensors(floats, f.metadata()), "again");
    FUZZ_REQUIRE(again.entries().size() == floats.size(), "tensor count changed on re-encoding");
    FUZZ_REQUIRE(again.metadata() == f.metadata(), "metadata changed on re-encoding");
    for (const auto& [name, t] : floats)
      FUZZ_REQUIRE(same_tensor_bytes(again.get_f32(name), f.get_f32(name)), "tensor '{}' changed", name);
  });
}

}  // namespace

void safetensors(std::string_view bytes) {
  parse_safetensors_once(bytes);
  if (const size_t nul = bytes.find('\0'); nul != std::string_view::npos) {
    std::string file(8, '\0');
    const uint64_t n = nul;
    std::memcpy(file.data(), &n, 8);
    file.append(bytes.substr(0, nul));
    file.append(bytes.substr(nul + 1));
    parse_safetensors_once(file);
  }
}

void checkpoint(std::string_view bytes) {
  decode_checkpoint_once(bytes);
  // Almost every mutation breaks the checksum; repair the size field and the CRC so the
  // fuzzer also explores the metadata and tensor records behind them.
  if (bytes.size() >= train::kCheckpointHeaderBytes + sizeof(uint32_t)) {
    std::string fixed(bytes);
    const uint64_t size = fixed.size();
    std::memcpy(fixed.data() + 16, &size, sizeof(size));
    const uint32_t crc = train::crc32_update(0, fixed.data(), fixed.size() - sizeof(uint32_t));
    std::memcpy(fixed.data() + fixed.size() - sizeof(uint32_t), &crc, sizeof(crc));
    decode_checkpoint_once(fixed);
  }
}

void config(std::string_view bytes) {
  std::string_view json = bytes, sets;
  if (size_t sep = bytes.find("\n%%\n"); sep != std::string_view::npos) {
    json = bytes.substr(0, sep);
    sets = bytes.substr(sep + 4);
  }
  std::vector<std::string> overrides;
  while (!sets.empty()) {
    const size_t nl = sets.find('\n');
    overrides.emplace_back(sets.substr(0, nl));
    sets = nl == std::string_view::npos ? std::string_view() : sets.substr(nl + 1);
  }
  expect_ok_or_error([&] {
    train::TrainConfig cfg = train::TrainConfig::from_text(json, "fuzz.json");
    check_config_round_trip(cfg);
    // One at a time through set() (no cross-key validation), then all through --set.
    train::TrainConfig one = cfg;
    for (const std::string& a : overrides) {
      const size_t eq = a.find('=');
      if (eq == std::string::npos) continue;
      expect_ok_or_error([&] { one.set(std::string_view(a).substr(0, eq), std::string_view(a).substr(eq + 1)); });
    }
    cfg.apply_overrides(overrides);
    check_config_round_trip(cfg);
  });
}

void tokenizer(std::string_view bytes) {
  expect_ok_or_error([&] {
    auto tok = train::load_tokenizer_text(bytes, "fuzz.json");
    check_tokenizer(*tok, bytes);
  });
  // The same text as the bare tokenizer JSON a checkpoint's metadata holds.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception&) {
    return;  // not JSON: load_tokenizer_text above refused it with a tlm::Error
  }
  expect_ok_or_error([&] {
    auto tok = train::load_tokenizer(j);
    check_tokenizer(*tok, bytes);
  });
}

void data(std::string_view bytes) {
  if (bytes.size() < 3) return;
  const auto b0 = static_cast<unsigned char>(bytes[0]);
  const char* kind = (b0 & 1) ? "bpe" : "char";
  const int64_t block_size = 1 + ((b0 >> 1) & 7);
  const nn::KeyValues options{{"bpe_vocab_size", int64_t{256 + 4 * static_cast<unsigned char>(bytes[1])}}};
  const double train_fraction = (static_cast<unsigned char>(bytes[2]) + 1) / 257.0;
  const std::string_view text = bytes.substr(3);
  expect_ok_or_error([&] {
    auto tok = train::make_tokenizer(kind, text, options);
    const int32_t V = tok->vocab_size();
    // A tokenizer encodes the text it was built from, and decodes it back exactly.
    const std::vector<int32_t> ids = tok->encode(text);
    FUZZ_REQUIRE(tok->decode(ids) == text, "{} tokenizer does not round-trip its corpus", kind);
    check_tokenizer(*tok, text);
    train::Dataset d(text, *tok, train_fraction, "fuzz.txt");
    FUZZ_REQUIRE(d.size(train::Split::Train) + d.size(train::Split::Val) ==
                     static_cast<int64_t>(ids.size()),
                 "the splits lose tokens");
    d.check_context(block_size);
    Rng rng(b0);
    for (train::Split s : {train::Split::Train, train::Split::Val}) {
      train::Batch b = d.sample_batch(s, 3, block_size, rng);
      const std::vector<int32_t> x = b.x.to_vector<int32_t>(), y = b.y.to_vector<int32_t>();
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t t = 0; t < block_size; ++t) {
          const int32_t xv = x[static_cast<size_t>(r * block_size + t)];
          FUZZ_REQUIRE(xv >= 0 && xv < V, "batch id {} outside [0, {})", xv, V);
          if (t + 1 < block_size)
            FUZZ_REQUIRE(y[static_cast<size_t>(r * block_size + t)] ==
                             x[static_cast<size_t>(r * block_size + t + 1)],
                         "y is not x shifted by one");
        }
    }
  });
}

// token_dir: the parts of a prepared directory, separated by lines "%%%%": meta.json,
// tokenizer.json, train.bin, val.bin (missing parts: files left out). Written to a scratch
// directory and opened as `tlm train --set data=DIR` opens it.
void token_dir(std::string_view bytes) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t sep = bytes.find("\n%%%%\n", start);
    parts.push_back(bytes.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start));
    if (sep == std::string_view::npos || parts.size() == 4) break;
    start = sep + 6;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "tlm_fuzz_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  const char* names[] = {"meta.json", "tokenizer.json", "train.bin", "val.bin"};
  for (size_t i = 0; i < parts.size(); ++i) {
    std::ofstream f(dir / names[i], std::ios::binary);
    f.write(parts[i].data(), static_cast<std::streamsize>(parts[i].size()));
  }
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{dir};
  for (const char* kind : {"char", "bpe"}) {
    expect_ok_or_error([&] {
      train::TokenDir d = train::open_token_dir(dir.string(), kind, [] {
        return std::unique_ptr<train::Tokenizer>();  // never called: the tokenizer is not gpt2
      });
      const int32_t V = d.tokenizer->vocab_size();
      FUZZ_REQUIRE(d.tokenizer->name() == kind, "opened a {} directory as {}", d.tokenizer->name(), kind);
      for (train::Split s : {train::Split::Train, train::Split::Val}) {
        const int64_t n = d.data.size(s);
        FUZZ_REQUIRE(n > 0, "an opened split is empty");
        for (int32_t id : d.data.read(s, 0, std::min<int64_t>(n, 64)))
          FUZZ_REQUIRE(id >= 0 && id < V, "id {} outside [0, {})", id, V);
      }
    });
  }
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"checkpoint", &checkpoint}, {"config", &config}, {"tokenizer", &tokenizer}, {"data", &data},
      {"token_dir", &token_dir},   {"safetensors", &safetensors}};
  return all;
}

}  // namespace tlm::fuzz
