#include "train/cli/diag_cli.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "train/data/data.h"
#include "train/diag/diag.h"
#include "train/diag/embedding_drift.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

TrainConfig resolve(const std::string& file, const std::vector<std::string>& sets) {
  TrainConfig cfg = file.empty() ? TrainConfig() : TrainConfig::from_file(file);
  cfg.apply_overrides(sets);
  return cfg;
}

// Su's 2-D example (docs/methods.md, "Unargmaxable tokens"): w5 = (1,1) lies in the hull of the
// other four, so token 4 (0-based) can never be the argmax; tokens 0..3 can.
void su_example(std::vector<double>& W, int64_t& V, int64_t& d) {
  W = {1, 2, 2, 1, 1, 0, 0, 1, 1, 1};
  V = 5;
  d = 2;
}

// A head from a CSV: one row per token, d numbers (then b_i with with_bias).
void read_weights(const std::string& path, bool with_bias, std::vector<double>& W,
                  std::vector<double>& b, int64_t& V, int64_t& d) {
  std::istringstream in(read_text_file(path));
  std::string line;
  V = 0;
  d = -1;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      try {
        row.push_back(std::stod(cell));
      } catch (const std::exception&) {
        TLM_FAIL("diag unargmax: {} line {}: '{}' is not a number", path, V + 1, cell);
      }
    }
    const int64_t n = static_cast<int64_t>(row.size()) - (with_bias ? 1 : 0);
    TLM_CHECK(n >= 1 && (d < 0 || n == d), "diag unargmax: {} line {}: {} columns, expected {}",
              path, V + 1, row.size(),
              d < 0 ? std::string("at least 1") : std::to_string(d + with_bias));
    d = n;
    W.insert(W.end(), row.begin(), row.begin() + n);
    if (with_bias) b.push_back(row.back());
    ++V;
  }
  TLM_CHECK(V > 0, "diag unargmax: {} has no rows", path);
}

}  // namespace

DiagCommand::DiagCommand(CLI::App& app) {
  diag_ = app.add_subcommand(
      "diag", "diagnostics: cost, grads, entropy, unargmax, embedding (CSV + JSON)");
  diag_->require_subcommand(1);
  cost_ = diag_->add_subcommand("cost", "parameters and FLOPs per token by component");
  cost_->add_option("--ckpt", ckpt_, "a checkpoint");
  cost_->add_option("--config", config_file_, "or a config file");
  cost_->add_option("--set", sets_, "config overrides");
  cost_->add_option("--vocab_size", vocab_size_, "vocabulary size for a config (default 65)");
  cost_->add_option("--out", out_, "CSV file (default diag_cost.csv)");

  grads_ = diag_->add_subcommand("grads", "train briefly; per-block |g| and |dθ|/|θ| each step");
  grads_->add_option("--config", config_file_, "JSON config file");
  grads_->add_option("--set", sets_, "config overrides: --set norm=deepnorm (repeatable)");
  grads_->add_option("--steps", steps_, "optimizer steps to record (default 20)");
  grads_->add_option("--out", out_, "CSV file (default diag_grads.csv)");

  entropy_ = diag_->add_subcommand("entropy", "attention entropy per layer and head vs length");
  entropy_->add_option("--ckpt", ckpt_, "checkpoint")->required();
  entropy_->add_option("--lengths", lengths_, "context lengths (default: block_size/4, /2, 1x)")
      ->delimiter(',');
  entropy_->add_option("--batches", batches_, "windows per length (default 4)");
  entropy_->add_option("--data", data_, "text file (default: the validation split)");
  entropy_->add_option("--out", out_, "CSV file (default diag_entropy.csv)");

  unargmax_ = diag_->add_subcommand("unargmax", "tokens the LM head can never predict");
  unargmax_->add_option("--ckpt", ckpt_, "checkpoint (its lm_head / tied wte)");
  unargmax_->add_option("--demo", demo_, "instead of a checkpoint: su2d (Su's 2-D example)");
  unargmax_->add_option("--weights", weights_,
                        "instead of a checkpoint: a CSV, one row w_i per token");
  unargmax_->add_flag("--with_bias", with_bias_, "--weights: the last column of each row is b_i");
  unargmax_->add_option("--max_iters", max_iters_,
                        "Frank-Wolfe iterations per token (default 300000)");
  unargmax_->add_option("--out", out_, "CSV file (default diag_unargmax.csv)");

  embedding_ = diag_->add_subcommand(
      "embedding", "per input-embedding row: token count vs mean/max |w| (Lion's drift to 1/wd)");
  embedding_->add_option("--ckpt", ckpt_, "checkpoint (its wte; counts from its training split)")
      ->required();
  embedding_->add_option("--out", out_, "CSV file (default diag_embedding.csv)");
}

int DiagCommand::run() {
  using namespace diag;
  auto out = [&](const char* fallback) { return out_.empty() ? std::string(fallback) : out_; };
  if (cost_->parsed()) {
    TrainConfig cfg;
    int64_t vocab = vocab_size_;
    std::unique_ptr<nn::GPT> model;
    if (!ckpt_.empty()) {
      LoadedModel m = load_model(ckpt_);
      vocab = m.tokenizer->vocab_size();
      model = std::move(m.model);
    } else {
      cfg = resolve(config_file_, sets_);
      Rng rng(0);
      model = std::make_unique<nn::GPT>(gpt_config(cfg, vocab), rng);
    }
    auto rows = cost_by_component(*model);
    const std::string path = out("diag_cost.csv");
    cost_table(rows).write_csv(path);
    nlohmann::json j = {{"csv", path},
                        {"params", model->num_parameters()},
                        {"flops_per_token", model->flops_per_token()}};
    for (const auto& r : rows)
      j["components"][r.component] = {{"params", r.params}, {"flops_per_token", r.flops_per_token}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  if (grads_->parsed()) {
    TrainConfig cfg = resolve(config_file_, sets_);
    fmt::print(stderr, "diag grads: {} steps, norm = {}, n_layer = {}, optimizer = {}\n", steps_,
               nn::name_of(cfg.norm), cfg.n_layer, cfg.optimizer);
    auto rows = grad_increments(cfg, steps_);
    const std::string path = out("diag_grads.csv");
    grad_table(rows).write_csv(path);
    fmt::print("{}\n", nlohmann::json{{"csv", path},
                                      {"steps", steps_},
                                      {"norm", nn::name_of(cfg.norm)},
                                      {"rows", rows.size()},
                                      {"final_loss", rows.empty() ? NAN : rows.back().loss}}
                           .dump());
    return 0;
  }
  if (entropy_->parsed()) {
    LoadedModel m = load_model(ckpt_);
    std::vector<int32_t> tokens;
    if (!data_.empty()) {
      tokens = m.tokenizer->encode(read_text_file(data_));
    } else {
      Dataset d(training_text(m.config), *m.tokenizer, 1.0 - m.config.val_fraction, m.config.data);
      tokens = d.tokens(Split::Val);
    }
    std::vector<int64_t> lengths = lengths_;
    const int64_t T = m.config.block_size;
    if (lengths.empty()) lengths = {std::max<int64_t>(1, T / 4), std::max<int64_t>(1, T / 2), T};
    auto rows = attention_entropy(*m.model, tokens, lengths, batches_);
    const std::string path = out("diag_entropy.csv");
    entropy_table(rows).write_csv(path);
    fmt::print("{}\n",
               nlohmann::json{{"csv", path}, {"lengths", lengths}, {"rows", rows.size()}}.dump());
    return 0;
  }
  if (unargmax_->parsed()) {
    std::vector<double> W, b;
    int64_t V = 0, d = 0;
    std::vector<std::string> text;
    if (demo_ == "su2d") {
      su_example(W, V, d);
    } else if (!weights_.empty()) {
      read_weights(weights_, with_bias_, W, b, V, d);
    } else {
      TLM_CHECK(demo_.empty(), "diag unargmax: --demo '{}' is not one of su2d", demo_);
      TLM_CHECK(!ckpt_.empty(), "diag unargmax: give --ckpt FILE, --weights FILE or --demo su2d");
      LoadedModel m = load_model(ckpt_);
      const Tensor& w = m.model->lm_head_weight();  // [V,C]; the GPT head has no bias
      V = w.shape()[0];
      d = w.shape()[1];
      W = w.to_vector<double>();
      for (int64_t i = 0; i < V; ++i) {
        const int32_t id = static_cast<int32_t>(i);
        text.push_back(m.tokenizer->decode(std::span<const int32_t>(&id, 1)));
      }
    }
    UnargmaxOptions uo;
    uo.max_iters = max_iters_;
    auto rows = unargmaxable(W, b, V, d, uo);
    const std::string path = out("diag_unargmax.csv");
    unargmax_table(rows, text).write_csv(path);
    std::vector<int64_t> bad, undecided;
    for (const auto& r : rows) {
      if (r.status == "unargmaxable") bad.push_back(r.token);
      if (r.status == "undecided") undecided.push_back(r.token);
    }
    fmt::print("{}\n", nlohmann::json{{"csv", path},
                                      {"vocab_size", V},
                                      {"dim", d},
                                      {"unargmaxable", bad},
                                      {"undecided", undecided}}
                           .dump());
    return 0;
  }
  if (embedding_->parsed()) {
    LoadedModel m = load_model(ckpt_);
    Dataset d(training_text(m.config), *m.tokenizer, 1.0 - m.config.val_fraction, m.config.data);
    const int64_t V = m.tokenizer->vocab_size();
    std::vector<int64_t> counts(static_cast<size_t>(V), 0);
    for (int32_t t : d.tokens(Split::Train)) ++counts[static_cast<size_t>(t)];
    std::vector<std::string> text;
    for (int64_t i = 0; i < V; ++i) {
      const int32_t id = static_cast<int32_t>(i);
      text.push_back(m.tokenizer->decode(std::span<const int32_t>(&id, 1)));
    }
    const double wd = m.config.weight_decay;
    auto rows = embedding_drift(m.model->wte.weight, counts, wd);
    const std::string path = out("diag_embedding.csv");
    embedding_drift_table(rows, text).write_csv(path);
    const EmbeddingRow* top = &rows.front();
    for (const auto& r : rows)
      if (r.max_abs > top->max_abs) top = &r;
    fmt::print("{}\n", nlohmann::json{{"csv", path},
                                      {"step", m.step},
                                      {"optimizer", m.config.optimizer},
                                      {"learning_rate", m.config.learning_rate},
                                      {"weight_decay", wd},
                                      {"inv_weight_decay", wd > 0 ? 1.0 / wd : INFINITY},
                                      {"tied", m.config.tie_weights},
                                      {"vocab_size", V},
                                      {"dim", m.model->wte.weight.size(1)},
                                      {"max_abs_token", top->token},
                                      {"max_abs_token_count", top->count},
                                      {"max_abs", top->max_abs}}
                           .dump());
    return 0;
  }
  return 0;
}

}  // namespace tlm::train
