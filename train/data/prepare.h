// `tlm prepare`: tokenize text once into a token directory (train/data/token_dir.h) that
// `tlm train --set data=DIR` memory-maps, as nanoGPT's and llm.c's prepare scripts do.
//
//   PrepareOptions o;
//   o.inputs = {"data/tinyshakespeare.txt"};   // files, or directories of .txt files
//   o.tokenizer = "bpe"; o.tokenizer_keys.set("bpe_vocab_size", 1024);
//   o.out = "data/shakespeare_bpe"; o.threads = 2;
//   (or o.tokenizer = "gpt2" with tokenizer_dir = DIR: GPT-2's vocab.json + merges.txt, not trained)
//   nlohmann::json summary = prepare_tokens(o, progress);   // the CLI's final JSON line
//
// Steps: the inputs are read (a directory contributes its .txt files, recursively, in path
// order), the tokenizer is trained on them (char: the characters of all of them; bpe: pieces
// counted per document), each document is encoded (encode_parallel, `threads` threads), and the
// documents' ids are joined with the end-of-text id between consecutive documents. The split is
// by tokens: of the n ids, the first floor((1 - val_fraction) * n) go to train.bin and the rest
// to val.bin (as Dataset splits a text in memory), so for one input train.bin followed by
// val.bin is exactly tok.encode(text), and the same seed draws the same batches from either.
//
// End of text: for char and bpe it is the NUL byte, which text files do not contain: bpe id 0
// (the byte 0x00) and, for char, the symbol "\0", which then enters the vocabulary and, as it
// sorts first, is id 0 too. An input holding a NUL byte is refused when there are several
// inputs (it would read as a document boundary). gpt2 uses <|endoftext|> = 50256.
//
// Memory: the documents are held while the tokenizer trains (plus its tables); the ids stream
// to a scratch file DIR/all.bin.part (removed at the end) that is then split into train.bin and
// val.bin, so only one 32 MB block's ids are in memory. Training from the result holds neither.
// Every file is written atomically, and an --out that already holds any of meta.json,
// train.bin, val.bin or tokenizer.json is refused rather than overwritten.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "train/data/tokenizer.h"

namespace tlm::train {

struct PrepareOptions {
  std::vector<std::string> inputs;  // files or directories
  std::string tokenizer = "bpe";    // a name of tokenizer_registry(): char | bpe | gpt2
  // The selected tokenizer's keys (train/data/tokenizer.h: bpe_vocab_size, tokenizer_dir),
  // checked against their ranges; a key not set takes its default (bpe_vocab_size 512).
  nn::KeyValues tokenizer_keys;
  std::string out;                  // the directory to create
  int threads = 1;
  double val_fraction = 0.1;        // in (0, 1)
};

// Called as work advances: phase ("read", "train tokenizer", "encode", "write"), bytes of
// input text done and in all.
using PrepareProgress = std::function<void(std::string_view phase, uint64_t done, uint64_t total)>;

// The input files: each file as given, each directory's .txt files (recursively, sorted by
// path). Errors: a missing path, a directory without .txt files, no input at all.
std::vector<std::string> prepare_input_files(const std::vector<std::string>& paths);

// The end-of-text id of `tok` that joins documents (see above).
int32_t end_of_text_id(const Tokenizer& tok);

// Writes out/{train.bin, val.bin, meta.json, tokenizer.json}; returns a summary: out,
// tokenizer, vocab_size, dtype, files, bytes, tokens, train_tokens, val_tokens, threads,
// seconds (all), tokenizer_seconds (training it), encode_seconds and encode_mb_per_s (wall
// clock), tokenizer_cpu_seconds and encode_cpu_seconds (CPU time of all threads).
nlohmann::json prepare_tokens(const PrepareOptions& options, const PrepareProgress& progress = {});

}  // namespace tlm::train
