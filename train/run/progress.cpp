#include "train/run/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace tlm::train {

Progress::Progress(int64_t total_steps, int64_t first_step, std::FILE* out, int64_t log_interval)
    : total_(total_steps), first_(first_step), out_(out), log_interval_(std::max<int64_t>(1, log_interval)),
      tty_(out != nullptr && isatty(fileno(out)) != 0), start_(std::chrono::steady_clock::now()) {}

std::string Progress::eta_(int64_t step) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int64_t done = step + 1 - first_;
  if (done <= 0) return "--:--";
  double remaining = elapsed / static_cast<double>(done) * static_cast<double>(total_ - step - 1);
  int64_t s = static_cast<int64_t>(remaining + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60)
                   : fmt::format("{:02d}:{:02d}", s / 60, s % 60);
}

void Progress::update(int64_t step, double loss, double lr, double tokens_per_s,
                      const std::string& extra) {
  const int64_t shown = step + 1;
  if (!out_) return;
  if (tty_) {
    const int width = 24;
    int filled = total_ > 0 ? static_cast<int>(width * shown / total_) : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    fmt::print(out_, "\r[{}] {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s{} ETA {}   ", bar, shown,
               total_, loss, lr, tokens_per_s, extra, eta_(step));
    std::fflush(out_);
    bar_shown_ = true;
  } else if (shown % log_interval_ == 0 || shown == total_ || step == first_) {
    fmt::print(out_, "step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s{} ETA {}\n", shown, total_,
               loss, lr, tokens_per_s, extra, eta_(step));
    std::fflush(out_);
  }
}

void Progress::message(const std::string& line) {
  if (!out_) return;
  if (bar_shown_) fmt::print(out_, "\r\033[K");
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  bar_shown_ = false;
}

void Progress::finish() {
  if (!out_) return;
  if (bar_shown_) fmt::print(out_, "\n");
  bar_shown_ = false;
  std::fflush(out_);
}

}  // namespace tlm::train
