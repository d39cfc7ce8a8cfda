// log.jsonl: one JSON record per line, appended (never truncated) and handed to the kernel as
// each record is written, so a kill -9 loses at most the record being written. A failed write
// (full disk, I/O error) throws an error naming the file, the reason and the last good
// checkpoint, which stops the run: a run whose log cannot be written is not silently continued.
//
//   RunLog log("out/log.jsonl");
//   log.write({{"kind", "step"}, {"step", 1}, {"loss", 4.1}});
//   log.set_checkpoint("out/ckpt.bin", 250);   // named by the error of a later failed write
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace tlm::train {

class RunLog {
 public:
  RunLog() = default;  // inactive: write() does nothing (ranks other than 0)
  explicit RunLog(std::string path);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void write(const nlohmann::json& record);
  void set_checkpoint(std::string path, int64_t step) {
    checkpoint_ = std::move(path);
    checkpoint_step_ = step;
  }
  const std::string& path() const { return path_; }

 private:
  void write_line_(const std::string& line);
  std::string path_;
  int fd_ = -1;
  std::string checkpoint_;  // the last checkpoint written (or resumed from); empty: none yet
  int64_t checkpoint_step_ = -1;
};

}  // namespace tlm::train
