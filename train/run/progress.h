// A one-line progress display for the terminal: bar, step, loss, tokens/s and ETA,
// redrawn in place on a TTY, printed as plain lines every `log_interval` steps otherwise
// (logs and CI). Writes to the FILE it is given (stderr in the CLI), never to stdout; a null
// FILE shows nothing (the silent ranks of a data-parallel run).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tlm::train {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t first_step, std::FILE* out, int64_t log_interval);
  // After step `step` (0-based) with the given loss and throughput; `extra` (e.g. the fp16
  // loss scale) is shown after the throughput.
  void update(int64_t step, double loss, double lr, double tokens_per_s,
              const std::string& extra = "");
  // A line that must stay (an evaluation, a checkpoint): clears the bar first.
  void message(const std::string& line);
  void finish();

 private:
  std::string eta_(int64_t step) const;
  int64_t total_, first_;
  std::FILE* out_;
  int64_t log_interval_;
  bool tty_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tlm::train
