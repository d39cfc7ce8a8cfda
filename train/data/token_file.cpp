#include "train/data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "tensor/error.h"

namespace tlm::train {

namespace {

// Little-endian on any host: bytes assembled explicitly.
inline int32_t load_id(const unsigned char* p, TokenDType d) {
  if (d == TokenDType::U16) return static_cast<int32_t>(p[0] | (uint32_t{p[1]} << 8));
  return static_cast<int32_t>(p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
                              (uint32_t{p[3]} << 24));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int open_token_file(const std::string& path, TokenDType dtype, uint64_t& bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TLM_CHECK(fd >= 0, "token file: cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    TLM_FAIL("token file: '{}' is not a regular file", path);
  }
  bytes = static_cast<uint64_t>(st.st_size);
  const size_t w = token_dtype_bytes(dtype);
  if (bytes % w != 0) {
    ::close(fd);
    TLM_FAIL("token file: '{}' has {} bytes, not a multiple of {} ({} ids): truncated, or not "
             "{} ids", path, bytes, w, token_dtype_name(dtype), token_dtype_name(dtype));
  }
  return fd;
}

}  // namespace

TokenDType token_dtype_for(int64_t vocab_size) {
  return vocab_size <= 65536 ? TokenDType::U16 : TokenDType::U32;
}

size_t token_dtype_bytes(TokenDType d) { return d == TokenDType::U16 ? 2 : 4; }

std::string_view token_dtype_name(TokenDType d) { return d == TokenDType::U16 ? "uint16" : "uint32"; }

TokenDType parse_token_dtype(std::string_view name, std::string_view source) {
  if (name == "uint16") return TokenDType::U16;
  if (name == "uint32") return TokenDType::U32;
  TLM_FAIL("token file: {} gives dtype '{}' (allowed: uint16, uint32)", source, name);
}

// ---- writing ----

TokenFileWriter::TokenFileWriter(const std::string& path, TokenDType dtype, std::string what)
    : path_(path), dtype_(dtype), out_(path, std::move(what)) {}

void TokenFileWriter::write(std::span<const int32_t> ids) {
  const size_t w = token_dtype_bytes(dtype_);
  const uint32_t limit = dtype_ == TokenDType::U16 ? 0xFFFFu : 0xFFFFFFFFu;
  buffer_.resize(ids.size() * w);
  auto* p = reinterpret_cast<unsigned char*>(buffer_.data());
  for (size_t k = 0; k < ids.size(); ++k, p += w) {
    const int32_t id = ids[k];
    TLM_CHECK(id >= 0 && static_cast<uint32_t>(id) <= limit,
              "token file: id {} at position {} of '{}' does not fit {}", id, count_ + k, path_,
              token_dtype_name(dtype_));
    const auto v = static_cast<uint32_t>(id);
    p[0] = static_cast<unsigned char>(v);
    p[1] = static_cast<unsigned char>(v >> 8);
    if (w == 4) {
      p[2] = static_cast<unsigned char>(v >> 16);
      p[3] = static_cast<unsigned char>(v >> 24);
    }
  }
  out_.write(buffer_.data(), buffer_.size());
  crc_ = crc32_update(crc_, buffer_.data(), buffer_.size());
  count_ += ids.size();
}

void TokenFileWriter::commit() { out_.commit(); }

// ---- scanning ----

TokenFileScan scan_token_file(const std::string& path, TokenDType dtype) {
  TokenFileScan s;
  Fd fd{open_token_file(path, dtype, s.bytes)};
  const size_t w = token_dtype_bytes(dtype);
  s.count = s.bytes / w;
  std::vector<unsigned char> buf(size_t{1} << 20);  // a multiple of 4
  uint64_t done = 0;
  while (done < s.bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), s.bytes - done));
    const ssize_t got = ::pread(fd.fd, buf.data(), want, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    TLM_CHECK(got > 0, "token file: cannot read '{}' at byte {}: {}", path, done,
              got < 0 ? std::strerror(errno) : "the file shrank while being read");
    const auto n = static_cast<size_t>(got);
    const size_t whole = n - n % w;
    TLM_CHECK(whole > 0, "token file: short read of '{}' at byte {}", path, done);
    int64_t mx = s.max_id;
    for (size_t k = 0; k < whole; k += w) mx = std::max<int64_t>(mx, static_cast<uint32_t>(load_id(buf.data() + k, dtype)));
    s.max_id = mx;
    s.crc32 = crc32_update(s.crc32, buf.data(), whole);
    done += whole;
  }
  return s;
}

// ---- the memory map ----

MappedTokens::MappedTokens(const std::string& path, TokenDType dtype) : path_(path), dtype_(dtype) {
  uint64_t bytes = 0;
  Fd fd{open_token_file(path, dtype, bytes)};
  bytes_ = static_cast<size_t>(bytes);
  count_ = static_cast<int64_t>(bytes / token_dtype_bytes(dtype));
  if (bytes_ == 0) return;
  void* p = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd.fd, 0);
  TLM_CHECK(p != MAP_FAILED, "token file: cannot memory-map '{}' ({} bytes): {}", path, bytes_,
            std::strerror(errno));
  data_ = static_cast<const unsigned char*>(p);
  // Windows are drawn at random: read-ahead would only fill memory with unused pages, and a
  // huge-page mapping would make each window resident 2 MiB at a time.
  ::madvise(p, bytes_, MADV_RANDOM);
  ::madvise(p, bytes_, MADV_NOHUGEPAGE);
}

MappedTokens::~MappedTokens() { release_(); }

MappedTokens::MappedTokens(MappedTokens&& o) noexcept
    : path_(std::move(o.path_)), dtype_(o.dtype_), data_(std::exchange(o.data_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)), count_(std::exchange(o.count_, 0)) {}

MappedTokens& MappedTokens::operator=(MappedTokens&& o) noexcept {
  if (this != &o) {
    release_();
    path_ = std::move(o.path_);
    dtype_ = o.dtype_;
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    count_ = std::exchange(o.count_, 0);
  }
  return *this;
}

void MappedTokens::release_() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), bytes_);
  data_ = nullptr;
}

void MappedTokens::read(int64_t from, int64_t n, int32_t* out) const {
  TLM_CHECK(from >= 0 && n >= 0 && from <= count_ - n,
            "token file: ids [{}, {}) are outside '{}' ({} ids)", from, from + n, path_, count_);
  if (n == 0) return;
  const size_t w = token_dtype_bytes(dtype_);
  const unsigned char* p = data_ + static_cast<size_t>(from) * w;
  for (int64_t k = 0; k < n; ++k) out[k] = load_id(p + static_cast<size_t>(k) * w, dtype_);
  // Hand the touched pages back: the resident set stays a few pages, whatever the file size.
  // The range is widened to whole 2 MiB blocks: the kernel may still map the page cache's large
  // folios a block at a time (measured: without this, 95 MB of a 100 MB file stayed resident
  // after a few hundred windows), and dropping a block that holds no other live data is free.
  constexpr size_t kBlock = size_t{2} << 20;
  const size_t lo = static_cast<size_t>(from) * w / kBlock * kBlock;
  const size_t hi = std::min(bytes_, (static_cast<size_t>(from + n) * w + kBlock - 1) / kBlock * kBlock);
  ::madvise(const_cast<unsigned char*>(data_) + lo, hi - lo, MADV_DONTNEED);
}

}  // namespace tlm::train
