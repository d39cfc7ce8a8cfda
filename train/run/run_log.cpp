#include "train/run/run_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tensor/error.h"

namespace tlm::train {

RunLog::RunLog(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  TLM_CHECK(fd_ >= 0, "train: cannot open the log {}: {}", path_, std::strerror(errno));
  // A run killed in the middle of a record leaves a line without its newline: end it, so the
  // next record starts a line of its own.
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd_, &last, 1, size - 1) == 1 && last != '\n') write_line_("\n");
}

RunLog::~RunLog() {
  if (fd_ >= 0) ::close(fd_);
}

void RunLog::write(const nlohmann::json& record) {
  if (fd_ < 0) return;
  write_line_(record.dump() + "\n");
}

void RunLog::write_line_(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      TLM_FAIL("train: cannot write the log {}: {}; stopping the run ({})", path_,
               std::strerror(err),
               checkpoint_.empty()
                   ? std::string("no checkpoint was written by this run yet")
                   : "the last good checkpoint is " + checkpoint_ + " at step " +
                         std::to_string(checkpoint_step_) + "; --resume continues from it");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace tlm::train
