// Dataset: a tokenized text split into train/val, and random batches of contiguous windows,
// drawn as nanoGPT / bench/torch_gpt.py do.
//
//   std::string text = read_text_file("input.txt");               // errors: missing, empty
//   auto tok = make_tokenizer("char", text);
//   Dataset data(text, *tok, 0.9, "input.txt");                   // first 90% train, rest val
//   data.check_context(cfg.block_size);                           // both splits long enough
//   Batch b = data.sample_batch(Split::Train, 12, 64, rng);       // b.x, b.y: int32 [12, 64]
//
//   Dataset big(MappedTokens("d/train.bin", dt), MappedTokens("d/val.bin", dt), "d");  // mmap
//
// Windows: for each row, i = rng.randint(n - T) (torch.randint(len(d) - block_size)), then
// x = d[i : i+T] and y = d[i+1 : i+T+1], so y is x shifted by one token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"
#include "train/data/token_file.h"
#include "train/data/tokenizer.h"

namespace tlm::train {

enum class Split { Train, Val };
std::string_view split_name(Split s);  // "train" | "val"

struct Batch {
  Tensor x;  // [B, T] int32 input ids
  Tensor y;  // [B, T] int32 next-token targets
};

// The file's bytes; errors name the file when it is missing, unreadable or empty.
std::string read_text_file(const std::string& path);

class Dataset {
 public:
  // n_train = floor(train_fraction * n), like int(0.9 * len(data)); train_fraction in (0, 1).
  Dataset(std::vector<int32_t> tokens, double train_fraction, std::string source = "<memory>");
  Dataset(std::string_view text, const Tokenizer& tok, double train_fraction,
          std::string source = "<memory>");

  // Memory-mapped splits (a directory written by `tlm prepare`, train/data/token_dir.h): the
  // ids stay in the files; a batch reads its windows from the maps, with the same draws as the
  // in-memory splits, so the same ids give the same batches.
  Dataset(MappedTokens train, MappedTokens val, std::string source);

  // read_text_file(path), then tokenize with an existing tokenizer (e.g. a checkpoint's).
  static Dataset from_file(const std::string& path, const Tokenizer& tok, double train_fraction);

  // The ids of an in-memory split (a memory-mapped one is refused: use read()).
  const std::vector<int32_t>& tokens(Split s) const;
  // ids [from, from + n) of a split, in memory or mapped.
  std::vector<int32_t> read(Split s, int64_t from, int64_t n) const;
  int64_t size(Split s) const;
  bool mapped() const { return mapped_train_ != nullptr; }
  const std::string& source() const { return source_; }

  // Throws unless both splits hold at least block_size + 1 tokens (one window).
  void check_context(int64_t block_size) const;
  Batch sample_batch(Split split, int64_t batch_size, int64_t block_size, Rng& rng) const;

 private:
  std::string source_;
  std::vector<int32_t> train_, val_;
  // Set instead of train_/val_ for mapped splits (shared: a Dataset stays copyable).
  std::shared_ptr<const MappedTokens> mapped_train_, mapped_val_;
};

}  // namespace tlm::train
