// Checked file I/O for train/: whole-file reads, atomic replacement, CRC-32.
//
//   std::string text = read_file("input.txt", "data");        // "data: cannot open 'input.txt': ..."
//   write_file_atomic("tok.json", json_text, "tokenizer");     // all or nothing
//
//   AtomicFileWriter w("model.ckpt", "checkpoint");           // streams into model.ckpt.tmp.<pid>
//   w.write(header, n); w.write(data, m);
//   w.commit();          // fsync, rename over model.ckpt, fsync the directory
//   // destroyed without commit() (an exception): the temp file is removed, the old file stays.
//   // A writer that was killed leaves model.ckpt.tmp.<pid>; the next writer of model.ckpt
//   // removes such files when process <pid> no longer exists.
//
// Why atomic: a crash or a full disk in the middle of a save must never leave a half-written
// checkpoint where the last good one was. rename(2) within one directory is atomic, so readers
// see either the old file or the complete new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tlm::train {

// Test hook (train/run/faults.h): a simulated full disk. A writer given one fails with ENOSPC
// once its file would grow past `bytes` bytes (0: the first write fails).
struct DiskFull {
  uint64_t bytes = 0;
};

// The whole file as bytes. `what` prefixes errors ("data", "checkpoint", ...).
std::string read_file(const std::string& path, std::string_view what);

// A file mapped read-only (mmap, MAP_PRIVATE), for reading large files without a copy:
//   MappedFile f("ckpt.bin", "checkpoint");   // errors as read_file's
//   f.bytes();                                // the whole file (empty for an empty file)
//   f.release(offset, n);                     // done with these bytes: their pages leave the
//                                             // resident set (read again from the page cache
//                                             // if touched later)
// A file that cannot be mapped (a pipe, /dev/stdin) is read into memory instead.
class MappedFile {
 public:
  MappedFile(const std::string& path, std::string_view what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const { return bytes_; }
  void release(size_t offset, size_t n) const;

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
  std::string copy_;  // when not mapped
  std::string_view bytes_;
};

class AtomicFileWriter {
 public:
  // `disk_full` (tests only; outlives the writer): fail as a full disk would.
  AtomicFileWriter(std::string path, std::string what, const DiskFull* disk_full = nullptr);
  ~AtomicFileWriter();  // not committed: closes and unlinks the temp file (never throws)
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  void commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  void flush_();
  [[noreturn]] void fail_(const std::string& action, int err);
  std::string path_, temp_path_, what_;
  const DiskFull* disk_full_ = nullptr;
  int fd_ = -1;
  bool committed_ = false;
  std::string buffer_;    // writes are batched into ~1 MiB write(2) calls
  uint64_t written_ = 0;  // bytes handed to write(2) so far
};

void write_file_atomic(const std::string& path, std::string_view bytes, std::string what,
                       const DiskFull* disk_full = nullptr);

// CRC-32 (IEEE 802.3, the zlib/PNG polynomial): crc32("123456789") == 0xCBF43926.
// Streaming: crc = crc32_update(crc32_update(0, a, n), b, m) equals crc32 of a||b.
uint32_t crc32_update(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32(std::string_view s) { return crc32_update(0, s.data(), s.size()); }

}  // namespace tlm::train
