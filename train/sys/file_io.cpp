#include "train/sys/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace tlm::train {

namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

std::string errno_str(int err) { return std::strerror(err); }

std::string parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// A writer killed between open and rename (SIGKILL, power loss) leaves `<path>.tmp.<pid>`
// behind. The next writer of the same path removes those whose process no longer exists;
// a live pid's file may be another writer's save in progress, so it is left alone.
void remove_stale_temp_files(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  fs::directory_iterator it(target.parent_path().empty() ? fs::path(".") : target.parent_path(), ec);
  if (ec) return;  // the directory is unreadable: the open below reports the real problem
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    const bool alive = pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM;
    if (!alive) fs::remove(entry.path(), ec);
  }
}

}  // namespace

std::string read_file(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TLM_CHECK(fd >= 0, "{}: cannot open '{}': {}", what, path, errno_str(errno));
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    TLM_FAIL("{}: cannot read '{}': it is a directory", what, path);
  }
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  std::array<char, 1 << 16> chunk;
  for (;;) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      TLM_FAIL("{}: cannot read '{}': {}", what, path, errno_str(err));
    }
    if (n == 0) break;
    out.append(chunk.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

MappedFile::MappedFile(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TLM_CHECK(fd >= 0, "{}: cannot open '{}': {}", what, path, errno_str(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ::close(fd);
      addr_ = p;
      size_ = static_cast<size_t>(st.st_size);
      ::madvise(addr_, size_, MADV_SEQUENTIAL);
      bytes_ = std::string_view(static_cast<const char*>(addr_), size_);
      return;
    }
  }
  ::close(fd);
  copy_ = read_file(path, what);  // empty, not regular, or not mappable: read it
  bytes_ = copy_;
}

MappedFile::~MappedFile() {
  if (addr_) ::munmap(addr_, size_);
}

void MappedFile::release(size_t offset, size_t n) const {
  if (!addr_ || n == 0 || offset >= size_) return;
  // Whole pages inside [offset, offset + n) only: a page shared with bytes still in use stays.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t from = (offset + page - 1) / page * page, to = std::min(offset + n, size_) / page * page;
  if (to > from) ::madvise(static_cast<char*>(addr_) + from, to - from, MADV_DONTNEED);
}

// ---- AtomicFileWriter ----

AtomicFileWriter::AtomicFileWriter(std::string path, std::string what, const DiskFull* disk_full)
    : path_(std::move(path)), what_(std::move(what)), disk_full_(disk_full) {
  temp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  remove_stale_temp_files(path_);
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TLM_CHECK(fd_ >= 0, "{}: cannot write '{}': cannot create '{}': {}", what_, path_, temp_path_,
            errno_str(errno));
  buffer_.reserve(kBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::fail_(const std::string& action, int err) {
  // Clean up now, so the error leaves nothing behind even if the caller keeps the object.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
  TLM_FAIL("{}: cannot write '{}': {} failed: {} (the previous file, if any, is unchanged)", what_,
           path_, action, errno_str(err));
}

void AtomicFileWriter::write(const void* data, size_t n) {
  TLM_CHECK(fd_ >= 0 && !committed_, "{}: write to '{}' after commit or failure", what_, path_);
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    size_t take = std::min(n, kBufferBytes - buffer_.size());
    buffer_.append(p, take);
    p += take;
    n -= take;
    if (buffer_.size() == kBufferBytes) flush_();
  }
}

void AtomicFileWriter::flush_() {
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    size_t n = left;
    if (disk_full_) {
      const uint64_t limit = disk_full_->bytes;
      uint64_t room = written_ < limit ? limit - written_ : 0;
      if (room == 0) fail_("write (simulated disk full)", ENOSPC);
      n = std::min<uint64_t>(n, room);
    }
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail_("write", errno);
    p += w;
    left -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
  buffer_.clear();
}

void AtomicFileWriter::commit() {
  TLM_CHECK(fd_ >= 0 && !committed_, "{}: commit of '{}' after commit or failure", what_, path_);
  flush_();
  if (::fsync(fd_) != 0) fail_("fsync", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail_("close", errno);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail_("rename", errno);
  committed_ = true;
  // Make the rename itself durable. The new file is complete either way, so a directory that
  // cannot be opened for fsync (some filesystems) is not an error.
  int dfd = ::open(parent_dir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes, std::string what,
                       const DiskFull* disk_full) {
  AtomicFileWriter w(path, std::move(what), disk_full);
  w.write(bytes);
  w.commit();
}

// ---- CRC-32 ----

namespace {
// Slicing-by-4 tables for the reflected polynomial 0xEDB88320.
struct Crc32Tables {
  uint32_t t[4][256];
  constexpr Crc32Tables() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 4; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
constexpr Crc32Tables kCrc;
}  // namespace

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 4) {
    c ^= uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    c = kCrc.t[3][c & 0xFF] ^ kCrc.t[2][(c >> 8) & 0xFF] ^ kCrc.t[1][(c >> 16) & 0xFF] ^
        kCrc.t[0][c >> 24];
    p += 4;
    n -= 4;
  }
  while (n-- > 0) c = kCrc.t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

}  // namespace tlm::train
