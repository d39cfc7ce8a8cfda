// `tlm diag ...`: the command-line side of train/diag/diag.h (kept out of train/cli/main.cpp, which
// only adds the subcommand and dispatches to it).
//
//   CLI::App app;
//   train::DiagCommand diag(app);       // adds `diag cost|grads|entropy|unargmax|embedding`
//   app.parse(argc, argv);
//   if (diag.parsed()) return diag.run();
//
// Each writes a CSV (--out) and prints one JSON summary line to stdout; progress goes to
// stderr. `python3 scripts/plot_diag.py <csv>` draws the PNG.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace tlm::train {

class DiagCommand {
 public:
  explicit DiagCommand(CLI::App& app);
  bool parsed() const { return diag_->parsed(); }
  int run();

 private:
  CLI::App* diag_;
  CLI::App *cost_, *grads_, *entropy_, *unargmax_, *embedding_;
  std::string ckpt_, config_file_, out_, data_, demo_, weights_;
  bool with_bias_ = false;
  std::vector<std::string> sets_;
  std::vector<int64_t> lengths_;
  int64_t vocab_size_ = 65, steps_ = 20, batches_ = 4, max_iters_ = 300000;
};

}  // namespace tlm::train
