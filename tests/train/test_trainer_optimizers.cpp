// Each optimizer (adamw, lion, sgd) through the trainer (issue 12): the state memory reported in
// the log header and the summary equals buffers x parameters x 4 bytes, counted here from the
// model's own parameter shapes; and 12 straight steps equal 6 + checkpoint/resume + 6 bit for
// bit, so the optimizer state (moments, per-parameter step counts, lr) survives a checkpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

std::string corpus() {
  const char* words[] = {"the ", "king ", "and ", "queen ", "of ", "verona ", "speak ", "\n"};
  Rng rng(11);
  std::string s;
  while (s.size() < 8000) s += words[rng.randint(8)];
  return s;
}

TrainConfig config(const TempDir& dir, const std::string& optimizer, const std::string& sub) {
  TrainConfig cfg;
  cfg.apply_overrides({"data=" + (dir / "text.txt"), "out_dir=" + (dir / sub), "n_layer=1",
                       "n_head=2", "n_embd=16", "block_size=8", "batch_size=4", "max_iters=12",
                       "lr_decay_iters=12", "warmup_iters=3", "eval_interval=0", "eval_iters=1",
                       "dropout=0.1", "threads=1", "optimizer=" + optimizer,
                       // Lion at its usual mapping (lr / 10, weight decay x 10)
                       optimizer == "lion" ? "learning_rate=3e-4" : "learning_rate=3e-3",
                       optimizer == "lion" ? "min_lr=3e-5" : "min_lr=3e-4",
                       optimizer == "lion" ? "weight_decay=1.0" : "weight_decay=0.1"});
  return cfg;
}

nlohmann::json header_of(const std::string& log_path) {
  std::istringstream in(testing::read_bytes(log_path));
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("kind") == "header") return j;
  }
  ADD_FAILURE() << "no header record in " << log_path;
  return {};
}

class TrainerOptimizer : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainerOptimizer, StateMemoryIsBuffersTimesParametersTimesFourBytes) {
  const std::map<std::string, int64_t> buffers = {{"adamw", 2}, {"lion", 1}, {"sgd", 1}};
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  TrainConfig cfg = config(dir, GetParam(), "run");
  cfg.apply_overrides({"max_iters=1"});
  Trainer t(cfg, false);
  int64_t elements = 0;  // counted from the shapes, not from num_parameters()
  for (auto& [name, p] : t.model().named_parameters()) {
    int64_t n = 1;
    for (int64_t d : p.shape()) n *= d;
    elements += n;
  }
  const int64_t want = buffers.at(GetParam()) * elements * 4;
  TrainSummary s = t.run(stderr);
  EXPECT_EQ(s.optimizer_buffers_per_param, buffers.at(GetParam()));
  EXPECT_EQ(s.optimizer_state_bytes, want);
  EXPECT_EQ(s.to_json().at("optimizer_state_bytes"), want);
  const nlohmann::json h = header_of(dir / "run/log.jsonl");
  EXPECT_EQ(h.at("optimizer"), GetParam());
  EXPECT_EQ(h.at("optimizer_params"), elements);
  EXPECT_EQ(h.at("optimizer_buffers_per_param"), buffers.at(GetParam()));
  EXPECT_EQ(h.at("optimizer_buffers").size(), static_cast<size_t>(buffers.at(GetParam())));
  EXPECT_EQ(h.at("optimizer_state_bytes"), want);
  // The state the checkpoint holds is exactly that many bytes of "optim.*" tensors.
  int64_t saved = 0;
  for (const auto& [name, p] : t.optimizer().state_dict().tensors)
    saved += p.numel() * static_cast<int64_t>(dtype_size(p.dtype()));
  EXPECT_EQ(saved, want);
}

TEST(TrainerOptimizerMemory, SgdWithoutMomentumKeepsNoState) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  TrainConfig cfg = config(dir, "sgd", "run");
  cfg.apply_overrides({"max_iters=1", "momentum=0"});
  Trainer t(cfg, false);
  TrainSummary s = t.run(stderr);
  EXPECT_EQ(s.optimizer_buffers_per_param, 0);
  EXPECT_EQ(s.optimizer_state_bytes, 0);
  EXPECT_EQ(header_of(dir / "run/log.jsonl").at("optimizer_state_bytes"), 0);
}

TEST_P(TrainerOptimizer, TwelveStepsEqualSixPlusResumePlusSixBitForBit) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  Trainer straight(config(dir, GetParam(), "straight"), false);
  straight.run(stderr);

  TrainConfig b = config(dir, GetParam(), "split");
  b.apply_overrides({"max_iters=6"});  // the schedule (lr_decay_iters=12) is unchanged
  { Trainer(b, false).run(stderr); }
  std::filesystem::create_directories(dir / "split6");
  std::filesystem::copy_file(dir / "split/ckpt.bin", dir / "split6/ckpt.bin");
  b.apply_overrides({"max_iters=12"});
  Trainer second(b, true);
  EXPECT_EQ(second.step(), 6);
  EXPECT_EQ(second.optimizer().step_count(), 6);
  second.run(stderr);

  // Control: the same 6-step checkpoint with its optimizer state zeroed ("optim.*" moments)
  // must end elsewhere, or the comparison above could not fail.
  Checkpoint ck = load_checkpoint(dir / "split6/ckpt.bin");
  int zeroed = 0;
  for (auto& [name, t] : ck.tensors)
    if (name.rfind("optim.", 0) == 0) t.fill_(0), ++zeroed;
  EXPECT_GT(zeroed, 0);
  std::filesystem::create_directories(dir / "ctrl");
  save_checkpoint(dir / "ctrl/ckpt.bin", ck);
  TrainConfig c = config(dir, GetParam(), "ctrl");
  Trainer fresh(c, true);
  EXPECT_EQ(fresh.step(), 6);
  fresh.run(stderr);

  auto wa = straight.model().named_parameters();
  auto wb = second.model().named_parameters();
  auto wc = fresh.model().named_parameters();
  ASSERT_EQ(wa.size(), wb.size());
  bool any_differs = false;
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].second.to_vector<float>(), wb[i].second.to_vector<float>()) << wa[i].first;
    any_differs |= wa[i].second.to_vector<float>() != wc[i].second.to_vector<float>();
  }
  EXPECT_TRUE(any_differs) << "the optimizer state made no difference";
}

INSTANTIATE_TEST_SUITE_P(Optim, TrainerOptimizer, ::testing::Values("adamw", "lion", "sgd"));

}  // namespace
}  // namespace tlm::train
