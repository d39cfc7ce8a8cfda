// Token files: a flat array of token ids, little-endian uint16 when the vocabulary fits in 16
// bits, else uint32: the train.bin / val.bin of nanoGPT's prepare.py and llm.c, written by
// `tlm prepare` (train/data/prepare.h) and memory-mapped for training (no header, no padding).
//
//   TokenFileWriter w("out/train.bin", TokenDType::U16, "prepare");  // atomic: a .tmp until commit
//   w.write(ids);  ...  w.commit();           // w.count(), w.crc32(): what meta.json records
//   TokenFileScan s = scan_token_file("out/train.bin", TokenDType::U16);  // count, crc32, max id
//   MappedTokens m("out/train.bin", TokenDType::U16);
//   m.read(i, T + 1, window);                 // ids i .. i+T as int32
//
// Memory: scan_token_file reads through a 1 MiB buffer (pread), and MappedTokens::read hands the
// pages it touched back to the kernel (madvise MADV_DONTNEED: a read-only file mapping simply
// re-faults them from the page cache), so neither makes the process's resident set grow with
// the file: a run on a 2 GB corpus holds a few pages of it at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "train/sys/file_io.h"

namespace tlm::train {

enum class TokenDType { U16, U32 };

// U16 when every id of a vocabulary of `vocab_size` fits (vocab_size <= 65536), else U32.
TokenDType token_dtype_for(int64_t vocab_size);
size_t token_dtype_bytes(TokenDType d);
std::string_view token_dtype_name(TokenDType d);  // "uint16" | "uint32"
// "uint16" | "uint32"; anything else is an error naming `source`.
TokenDType parse_token_dtype(std::string_view name, std::string_view source);

// Streams ids into `path` atomically (AtomicFileWriter): the file appears complete on commit()
// or not at all. Each id must fit the dtype (an error names the id and its position).
class TokenFileWriter {
 public:
  TokenFileWriter(const std::string& path, TokenDType dtype, std::string what);
  void write(std::span<const int32_t> ids);
  void commit();
  uint64_t count() const { return count_; }   // ids written so far
  uint32_t crc32() const { return crc_; }     // CRC-32 of the bytes written so far

 private:
  std::string path_;
  TokenDType dtype_;
  AtomicFileWriter out_;
  std::string buffer_;
  uint64_t count_ = 0;
  uint32_t crc_ = 0;
};

struct TokenFileScan {
  uint64_t bytes = 0;
  uint64_t count = 0;   // bytes / dtype size
  uint32_t crc32 = 0;   // of the whole file's bytes
  int64_t max_id = -1;  // -1 for an empty file
};
// Reads the whole file once (errors: missing, unreadable, size not a multiple of the dtype).
TokenFileScan scan_token_file(const std::string& path, TokenDType dtype);

// A read-only memory map of a token file (size checked: a whole number of ids).
class MappedTokens {
 public:
  MappedTokens(const std::string& path, TokenDType dtype);
  ~MappedTokens();
  MappedTokens(MappedTokens&& other) noexcept;
  MappedTokens& operator=(MappedTokens&& other) noexcept;
  MappedTokens(const MappedTokens&) = delete;
  MappedTokens& operator=(const MappedTokens&) = delete;

  int64_t size() const { return count_; }  // ids in the file
  TokenDType dtype() const { return dtype_; }
  const std::string& path() const { return path_; }
  // out[k] = id (from + k) for k < n; [from, from + n) must lie inside the file.
  void read(int64_t from, int64_t n, int32_t* out) const;

 private:
  void release_();
  std::string path_;
  TokenDType dtype_ = TokenDType::U16;
  const unsigned char* data_ = nullptr;  // the mapping (null for an empty file)
  size_t bytes_ = 0;
  int64_t count_ = 0;
};

}  // namespace tlm::train
