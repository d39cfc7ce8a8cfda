// Fuzz contracts for every parser of outside input. Each function feeds `bytes` to one parser
// and returns normally when the parser either succeeded (and its result passed the round-trip
// checks below) or threw tlm::Error. Anything else is a bug: another exception type (it escapes
// from here), a crash, a sanitizer report, a hang or an out-of-memory.
//
//   for (const auto& t : tlm::fuzz::targets()) t.run(bytes);   // what test_fuzz replays
//   // libFuzzer (make fuzz): tests/fuzz/fuzz_main.cpp calls one target per binary.
//
// Targets and what their input means:
//   checkpoint  a checkpoint file (train::decode_checkpoint); also run with the size field and
//               the CRC-32 repaired, so mutations reach the metadata and tensor records.
//   config      a JSON config file (TrainConfig::from_text); after a line "%%", one --set
//               override per line (TrainConfig::set, then apply_overrides).
//   tokenizer   a tokenizer file (load_tokenizer_text) or bare tokenizer JSON (load_tokenizer),
//               char, bpe or gpt2.
//   data        byte 0: tokenizer kind (bit 0), block size 1..8 (bits 1-3); byte 1: bpe
//               vocabulary 256 + 4 * b; byte 2: train fraction (b + 1) / 257; the rest is the
//               text: tokenizer training, Dataset, batches, encode/decode round trip.
//   token_dir   a prepared token directory (open_token_dir, as for data = DIR): meta.json,
//               tokenizer.json, train.bin, val.bin, separated by lines "%%%%"; opened as char
//               and as bpe, and every id read back must be inside the vocabulary.
//   safetensors a .safetensors file (train::SafetensorsFile::parse); also, when the input holds a
//               NUL byte, the text before it as the JSON header and the rest as the data (the
//               length prefix written for it), so mutations reach the header checks. What
//               parses must read back (get_f32) and re-encode to the same tensors.
#pragma once

#include <string_view>
#include <vector>

namespace tlm::fuzz {

void checkpoint(std::string_view bytes);
void config(std::string_view bytes);
void tokenizer(std::string_view bytes);
void data(std::string_view bytes);
void token_dir(std::string_view bytes);
void safetensors(std::string_view bytes);

struct Target {
  const char* name;  // also the corpus directory: tests/fuzz/<name>/
  void (*run)(std::string_view bytes);
};
const std::vector<Target>& targets();

}  // namespace tlm::fuzz
