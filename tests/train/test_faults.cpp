// Fault injection: NaN losses under both nan_policy values, a full disk while saving, SIGKILL
// at random moments of a real `tlm train` run (the checkpoint always loads and --resume
// continues), and Ctrl-C (SIGINT: checkpoint, clean exit, resumable).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/run/faults.h"
#include "train/sys/file_io.h"
#include "train/run/trainer.h"

extern char** environ;

namespace tlm::train {
namespace {

using testing::TempDir;

std::string tiny_text() {
  std::string text;
  for (int i = 0; i < 60; ++i)
    text += "To be, or not to be, that is the question: whether 'tis nobler in the mind.\n";
  return text;
}

// A model small enough that a step takes about a millisecond.
TrainConfig tiny_config(const TempDir& dir) {
  testing::write_bytes(dir / "input.txt", tiny_text());
  TrainConfig cfg;
  cfg.apply_overrides({"data=" + (dir / "input.txt"), "out_dir=" + (dir / "out"), "n_layer=1",
                       "n_head=2", "n_embd=16", "block_size=16", "batch_size=4", "eval_iters=0",
                       "max_iters=10", "log_interval=1000", "threads=1", "warmup_iters=2"});
  return cfg;
}

// Progress output of in-process runs (Trainer::run needs a stream).
std::FILE* quiet() {
  static std::FILE* sink = std::fopen("/dev/null", "w");
  return sink;
}

std::vector<std::vector<float>> weights(Trainer& t) {
  std::vector<std::vector<float>> w;
  for (const auto& [name, p] : t.model().named_parameters()) w.push_back(p.to_vector<float>());
  return w;
}

int count_lines_with(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// ---- NaN in the loss ----

TEST(Faults, NanLossStopsNamingTheStepAndKeepsTheLastCheckpoint) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"ckpt_interval=2"});  // nan_policy = stop is the default
  EXPECT_EQ(cfg.nan_policy, NanPolicy::Stop);
  Trainer trainer(cfg, /*resume=*/false);
  Faults nan;
  nan.nan_loss_steps = {5};
  trainer.set_faults(&nan);
  EXPECT_TLM_ERROR(trainer.run(quiet()), "the loss is nan", "at step 5", "stopping");
  EXPECT_EQ(trainer.step(), 5);
  // The checkpoint of step 4 is intact and resumable.
  Checkpoint ck = load_checkpoint(trainer.checkpoint_path());
  EXPECT_EQ(ck.meta.at("step"), 4);
}

TEST(Faults, NanLossSkipMakesNoUpdateAndIsCountedAndLogged) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"nan_policy=skip", "max_iters=4"});
  Trainer reference(cfg, false);
  reference.run(quiet());  // 4 clean steps

  cfg.apply_overrides({"max_iters=6", "out_dir=" + (dir / "skip")});
  Trainer skipping(cfg, false);
  Faults nan;
  nan.nan_loss_steps = {4, 5};  // the two steps after the reference run's last
  skipping.set_faults(&nan);
  TrainSummary s = skipping.run(quiet());
  EXPECT_EQ(s.iters, 6);
  EXPECT_EQ(s.skipped_steps, 2);
  EXPECT_EQ(s.to_json().at("skipped_steps"), 2);
  // No update: bit-identical to the run that stopped before them (Adam's state included,
  // since a further clean step would otherwise differ).
  EXPECT_EQ(weights(skipping), weights(reference));
  const std::string log = testing::read_bytes(dir / "skip/log.jsonl");
  EXPECT_EQ(count_lines_with(log, "\"kind\":\"skip\""), 2) << log;
  EXPECT_EQ(count_lines_with(log, "\"kind\":\"step\""), 4) << log;
  EXPECT_NE(log.find("the loss is nan"), std::string::npos);
  // The count travels with the checkpoint.
  EXPECT_EQ(load_checkpoint(skipping.checkpoint_path()).meta.at("skipped_steps"), 2);
  cfg.apply_overrides({"max_iters=7"});
  Trainer resumed(cfg, true);
  EXPECT_EQ(resumed.run(quiet()).skipped_steps, 2);
}

TEST(Faults, NanPolicyIsAValidatedConfigKey) {
  TrainConfig cfg;
  EXPECT_TLM_ERROR(cfg.apply_overrides({"nan_policy=ignore"}), "nan_policy", "stop, skip");
}

// ---- a full disk while saving ----

TEST(Faults, DiskFullDuringSaveKeepsThePreviousCheckpointAndReports) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"max_iters=3"});
  Trainer first(cfg, false);
  first.run(quiet());
  const std::string good = testing::read_bytes(first.checkpoint_path());
  ASSERT_GT(good.size(), 1000u);

  cfg.apply_overrides({"max_iters=6", "ckpt_interval=1"});
  Trainer second(cfg, /*resume=*/true);
  for (uint64_t room : {uint64_t{0}, uint64_t{100}, uint64_t{good.size() - 1}}) {
    SCOPED_TRACE(room);
    Faults full;
    full.disk_full = DiskFull{room};
    second.set_faults(&full);
    EXPECT_TLM_ERROR(second.run(quiet()), "checkpoint: cannot write", "No space left on device",
                     "unchanged");
    EXPECT_EQ(testing::read_bytes(first.checkpoint_path()), good);
    for (const auto& f : std::filesystem::directory_iterator(dir / "out"))
      EXPECT_EQ(f.path().filename().string().find(".tmp."), std::string::npos) << f.path();
  }
  // Space again: the same trainer saves and the file loads.
  second.set_faults(nullptr);
  second.save(second.checkpoint_path());
  EXPECT_EQ(load_checkpoint(second.checkpoint_path()).meta.at("step"), second.step());
}

// ---- the real binary: SIGKILL and SIGINT ----

struct Child {
  pid_t pid = -1;
  std::string out, err;  // files receiving stdout and stderr
};

Child spawn_tlm(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  Child c{-1, out, err};
  std::vector<std::string> argv_s = {std::string(TLM_BINARY_DIR) + "/tlm"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv_s[0] + " failed");
  return c;
}

int wait_status(const Child& c) {
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::vector<std::string> train_args(const std::string& cfg_file, bool resume, int64_t max_iters) {
  std::vector<std::string> a = {"train", "--config", cfg_file, "--set",
                                "max_iters=" + std::to_string(max_iters)};
  if (resume) a.push_back("--resume");
  return a;
}

std::string write_config_file(const TempDir& dir, const std::vector<std::string>& extra) {
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides(extra);
  testing::write_bytes(dir / "run.json", cfg.to_json().dump(1));
  return dir / "run.json";
}

// Starts `tlm train args` (a fresh start adds --overwrite: a run killed before its first
// checkpoint starts anew), waits for the end of start-up (the banner's last line: "blas:", or
// "resuming from step" when resuming, so slow builds and a loaded machine still kill
// mid-training, never inside the banner), sleeps `delay_ms` and sends SIGKILL. Returns the wait
// status; a start-up failure is a fatal test failure.
int start_and_kill(std::vector<std::string> args, bool resume, const TempDir& dir, int delay_ms) {
  if (!resume) args.push_back("--overwrite");
  Child c = spawn_tlm(args, dir / "stdout.txt", dir / "stderr.txt");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const std::string end_of_start_up = resume ? "resuming from step" : "blas:";
  while (testing::read_bytes(dir / "stderr.txt").find(end_of_start_up) == std::string::npos) {
    EXPECT_LT(std::chrono::steady_clock::now(), deadline) << testing::read_bytes(dir / "stderr.txt");
    EXPECT_EQ(waitpid(c.pid, nullptr, WNOHANG), 0) << testing::read_bytes(dir / "stderr.txt");
    if (::testing::Test::HasFailure()) {
      ::kill(c.pid, SIGKILL);
      wait_status(c);
      ADD_FAILURE() << "tlm did not start";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  EXPECT_EQ(::kill(c.pid, SIGKILL), 0);
  return wait_status(c);
}

TEST(Faults, SigkillAtRandomMomentsAlwaysLeavesALoadableResumableCheckpoint) {
  TempDir dir;
  const std::string cfg = write_config_file(dir, {"ckpt_interval=1"});
  const std::string ckpt = dir / "out/ckpt.bin";
  std::mt19937 gen(20261124);
  // Measured from the end of start-up (the banner's last line), so slow builds (sanitizers) and a
  // loaded machine still kill mid-training: first steps, saves, renames alike.
  std::uniform_int_distribution<int> delay_ms(0, 400);
  const int kTrials = 8;
  int survived = 0;
  int64_t last_step = -1;
  for (int trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE(fmt::format("trial {}", trial));
    const bool resume = std::filesystem::exists(ckpt);
    const int status = start_and_kill(train_args(cfg, resume, 1000000), resume, dir, delay_ms(gen));
    ASSERT_NE(status, -1);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "tlm ended by itself: " << testing::read_bytes(dir / "stderr.txt");
    const std::string err = testing::read_bytes(dir / "stderr.txt");
    if (resume) {  // it continued from the checkpoint the previous kill left
      EXPECT_NE(err.find(fmt::format("resuming from step {}", last_step)), std::string::npos) << err;
    }
    if (!std::filesystem::exists(ckpt)) continue;  // killed before its first checkpoint
    Checkpoint ck;
    ASSERT_NO_THROW(ck = load_checkpoint(ckpt));
    const int64_t step = ck.meta.at("step").get<int64_t>();
    EXPECT_GE(step, std::max<int64_t>(last_step, 1));
    last_step = step;
    ++survived;
  }
  ASSERT_GE(survived, kTrials / 2) << "too few kills landed after the first checkpoint";
  // A last resume runs to the end.
  Child c = spawn_tlm(train_args(cfg, true, last_step + 3), dir / "stdout.txt", dir / "stderr.txt");
  const int status = wait_status(c);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::read_bytes(dir / "stderr.txt");
  const auto summary = nlohmann::json::parse(testing::read_bytes(c.out));
  EXPECT_EQ(summary.at("iters"), last_step + 3);
  EXPECT_EQ(load_checkpoint(ckpt).meta.at("step"), last_step + 3);
  fmt::print("kill-resume: {} of {} SIGKILLs left a loadable checkpoint, all resumed (last step {})\n",
             survived, kTrials, last_step);
}

// The defaults alone (no ckpt_interval): a checkpoint at every evaluation step. Killed at random
// moments, a run loses at most one evaluation interval of the steps its log shows, and the run
// resumed after all the kills ends with the very weights and optimizer state of a run never killed.
TEST(Faults, SigkillWithDefaultCheckpointsLosesAtMostOneIntervalAndResumesExactly) {
  TempDir dir;
  const int64_t k = 4;  // eval_interval
  const std::string cfg = write_config_file(dir, {"eval_interval=4", "eval_iters=1"});
  const std::string ckpt = dir / "out/ckpt.bin";
  std::mt19937 gen(20261203);
  std::uniform_int_distribution<int> delay_ms(0, 300);
  int64_t last_step = -1;
  int checked = 0;
  for (int trial = 0; trial < 8; ++trial) {
    SCOPED_TRACE(fmt::format("trial {}", trial));
    const bool resume = std::filesystem::exists(ckpt);
    const int status = start_and_kill(train_args(cfg, resume, 1000000), resume, dir, delay_ms(gen));
    ASSERT_NE(status, -1);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << testing::read_bytes(dir / "stderr.txt");
    if (resume) {
      const std::string err = testing::read_bytes(dir / "stderr.txt");
      EXPECT_NE(err.find(fmt::format("resuming from step {}", last_step)), std::string::npos) << err;
    }
    // The last step the log shows (each record is written through as it is made; a line cut by
    // the kill is skipped).
    int64_t logged = 0;
    std::istringstream log(testing::read_bytes(dir / "out/log.jsonl"));
    for (std::string line; std::getline(log, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("kind", "") == "step") logged = std::max<int64_t>(logged, j.at("step"));
    }
    if (!std::filesystem::exists(ckpt)) {
      EXPECT_LE(logged, k);  // no checkpoint yet: at most one interval was run
      continue;
    }
    Checkpoint ck;
    ASSERT_NO_THROW(ck = load_checkpoint(ckpt));
    const int64_t step = ck.meta.at("step").get<int64_t>();
    EXPECT_EQ(step % k, 0);
    EXPECT_GE(step, last_step);
    EXPECT_LE(logged - step, k) << "logged " << logged << ", checkpoint at " << step;
    last_step = step;
    ++checked;
  }
  ASSERT_GE(checked, 4) << "too few kills landed after the first checkpoint";
  const int64_t end = last_step + 6;
  Child c = spawn_tlm(train_args(cfg, true, end), dir / "stdout.txt", dir / "stderr.txt");
  const int status = wait_status(c);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::read_bytes(dir / "stderr.txt");
  // The same run, never killed, in this process.
  TrainConfig straight = TrainConfig::from_file(cfg);
  straight.apply_overrides({fmt::format("max_iters={}", end), "out_dir=" + (dir / "straight")});
  Trainer t(straight, false);
  t.run(quiet());
  Checkpoint killed = load_checkpoint(ckpt), clean = load_checkpoint(t.checkpoint_path());
  ASSERT_EQ(killed.meta.at("step"), end);
  ASSERT_EQ(killed.tensors.size(), clean.tensors.size());
  for (size_t i = 0; i < clean.tensors.size(); ++i) {
    SCOPED_TRACE(clean.tensors[i].first);
    ASSERT_EQ(killed.tensors[i].first, clean.tensors[i].first);
    EXPECT_EQ(killed.tensors[i].second.to_vector<float>(), clean.tensors[i].second.to_vector<float>());
  }
  EXPECT_EQ(killed.meta.at("rng"), clean.meta.at("rng"));
  fmt::print("kill-resume (default checkpoints, eval_interval {}): {} kills after the first "
             "checkpoint, at most {} steps lost each, resumed to step {} bit-identical\n", k, checked, k, end);
}

TEST(Faults, SigintSavesACheckpointAndExitsCleanly) {
  TempDir dir;
  const std::string cfg = write_config_file(dir, {});  // only the final / interrupt checkpoint
  Child c = spawn_tlm(train_args(cfg, false, 1000000), dir / "stdout.txt", dir / "stderr.txt");
  // Wait until the loop runs (the handler is installed), then press Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count_lines_with(testing::read_bytes(dir / "out/log.jsonl"), "\"kind\":\"step\"") < 3) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << testing::read_bytes(dir / "stderr.txt");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(::kill(c.pid, SIGINT), 0);
  const int status = wait_status(c);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string err = testing::read_bytes(dir / "stderr.txt");
  EXPECT_NE(err.find("interrupted at step"), std::string::npos) << err;
  const auto summary = nlohmann::json::parse(testing::read_bytes(c.out));
  EXPECT_EQ(summary.at("interrupted"), true);
  const int64_t step = summary.at("iters").get<int64_t>();
  EXPECT_GE(step, 3);
  EXPECT_EQ(load_checkpoint(dir / "out/ckpt.bin").meta.at("step"), step);

  Child r = spawn_tlm(train_args(cfg, true, step + 2), dir / "stdout.txt", dir / "stderr.txt");
  const int rs = wait_status(r);
  ASSERT_TRUE(WIFEXITED(rs) && WEXITSTATUS(rs) == 0) << testing::read_bytes(r.err);
  EXPECT_EQ(nlohmann::json::parse(testing::read_bytes(r.out)).at("iters"), step + 2);
}

}  // namespace
}  // namespace tlm::train
