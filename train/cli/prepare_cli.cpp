#include "train/cli/prepare_cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "train/data/tokenizer.h"
#include "train/sys/sysinfo.h"

namespace tlm::train {

namespace {

// One line per phase, redrawn in place on a TTY: "encode [#####.....] 52% 120.3/231.0 MB 41.2 MB/s ETA 3s".
class PrepareDisplay {
 public:
  explicit PrepareDisplay(std::FILE* out) : out_(out), tty_(::isatty(::fileno(out)) == 1) {}
  ~PrepareDisplay() { end_phase_(); }
  PrepareDisplay(const PrepareDisplay&) = delete;
  PrepareDisplay& operator=(const PrepareDisplay&) = delete;

  void update(std::string_view phase, uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (phase != phase_) {
      end_phase_();
      phase_ = phase;
      start_ = now;
      last_ = {};
    }
    done_ = done;
    total_ = total;
    if (tty_ && (now - last_ > std::chrono::milliseconds(100) || done == total)) {
      last_ = now;
      fmt::print(out_, "\r\033[K{}", line_(now));
      std::fflush(out_);
    }
  }

 private:
  std::string line_(std::chrono::steady_clock::time_point now) const {
    const double s = std::chrono::duration<double>(now - start_).count();
    const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    const int filled = static_cast<int>(frac * 20);
    const bool bytes = phase_ != "write";  // "write" counts tokens
    const double rate = s > 0.01 ? static_cast<double>(done_) / s : 0;  // none before 10 ms
    std::string eta = rate > 0 && done_ < total_
                          ? fmt::format(" ETA {:.0f}s", static_cast<double>(total_ - done_) / rate)
                          : "";
    return fmt::format("prepare: {:16s} [{}{}] {:3.0f}% {:.1f}/{:.1f} {} {:.1f} {}/s{}", phase_,
                       std::string(static_cast<size_t>(filled), '#'),
                       std::string(static_cast<size_t>(20 - filled), '.'), frac * 100,
                       static_cast<double>(done_) / 1e6, static_cast<double>(total_) / 1e6,
                       bytes ? "MB" : "M tokens", rate / 1e6, bytes ? "MB" : "M tokens", eta);
  }
  void end_phase_() {
    if (phase_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_) fmt::print(out_, "\r\033[K");
    fmt::print(out_, "{} in {:.2f} s\n", line_(now), std::chrono::duration<double>(now - start_).count());
    std::fflush(out_);
    phase_.clear();
  }
  std::FILE* out_;
  bool tty_;
  std::string phase_;
  uint64_t done_ = 0, total_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace

PrepareCommand::PrepareCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("prepare", "tokenize text once into train.bin/val.bin + meta.json, "
                                       "for tlm train --set data=DIR (memory-mapped)");
  cmd_->add_option("--data", options_.inputs, "text files, or directories of .txt files")->required();
  cmd_->add_option("--tokenizer", options_.tokenizer, fmt::format("{}", fmt::join(tokenizer_registry().names(), " | ")));
  for (const nn::EntryKey& k : nn::entry_keys(tokenizer_registry()))  // bpe_vocab_size, tokenizer_dir
    cmd_->add_option("--" + k.name, key_text_[k.name],
                     k.default_value.empty() ? k.help : fmt::format("{} (default {})", k.help, k.default_value))
        ->type_name(k.type == nn::KeyType::Int ? "INT" : k.type == nn::KeyType::Float ? "FLOAT" : "TEXT");
  cmd_->add_option("--out", options_.out, "the directory to write")->required();
  cmd_->add_option("--threads", options_.threads, "encoding threads");
  cmd_->add_option("--val_fraction", options_.val_fraction, "the last fraction of the ids held out");
}

int PrepareCommand::run() {
  for (const nn::EntryKey& k : nn::entry_keys(tokenizer_registry()))
    if (cmd_->count("--" + k.name) > 0)
      options_.tokenizer_keys.set(k.name, nn::parse_key_value(k, key_text_[k.name], "prepare"));
  nlohmann::json summary;
  int64_t rss_tokenizer = -1;  // peak resident set once the text is read and the tokenizer trained
  {
    PrepareDisplay display(stderr);
    summary = prepare_tokens(options_, [&](std::string_view phase, uint64_t done, uint64_t total) {
      if (phase == "encode" && rss_tokenizer < 0) rss_tokenizer = peak_rss_bytes();
      display.update(phase, done, total);
    });
  }
  summary["peak_rss_bytes"] = peak_rss_bytes();
  summary["peak_rss_tokenizer_bytes"] = rss_tokenizer;
  fmt::print("{}\n", summary.dump());
  return 0;
}

}  // namespace tlm::train
