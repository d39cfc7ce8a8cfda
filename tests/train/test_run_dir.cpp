// Never lose a run (issue 23): a new run never replaces one silently, checkpoints are written
// during training by default, --resume restores the config from the checkpoint, a moved or changed
// data file is named, `tlm info --ckpt` shows what a checkpoint holds, and a log that cannot be
// written stops the run.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "nn/loss/registry.h"
#include "optim/registry.h"
#include "optim/schedule.h"
#include "tests/train/test_util.h"
#include "train/data/text_check.h"
#include "train/data/tokenizer.h"
#include "train/io/checkpoint.h"
#include "train/io/model_keys.h"
#include "train/run/checkpoint_info.h"
#include "train/sys/file_io.h"
#include "train/launch/resume_config.h"
#include "train/launch/run_dir.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

std::string tiny_text() {
  std::string text;
  for (int i = 0; i < 60; ++i)
    text += "To be, or not to be, that is the question: whether 'tis nobler in the mind.\n";
  return text;
}

std::vector<std::string> tiny_sets(const TempDir& dir) {
  testing::write_bytes(dir / "input.txt", tiny_text());
  return {"data=" + (dir / "input.txt"), "out_dir=" + (dir / "out"), "n_layer=1", "n_head=2",
          "n_embd=16", "block_size=16", "batch_size=4", "eval_iters=2", "max_iters=6",
          "log_interval=1000", "threads=1", "warmup_iters=2"};
}

TrainConfig tiny_config(const TempDir& dir) {
  TrainConfig cfg;
  cfg.apply_overrides(tiny_sets(dir));
  return cfg;
}

std::FILE* quiet() {
  static std::FILE* sink = std::fopen("/dev/null", "w");
  return sink;
}

using testing::log_records;

// ---- the real binary ----

struct CliRun {
  int status = -1;  // exit status
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// tlm with `args`, run from directory `cwd` (the shell's cd), stdout and stderr captured.
CliRun tlm(const TempDir& dir, const std::vector<std::string>& args, const std::string& cwd = "") {
  std::string cmd;
  if (!cwd.empty()) cmd.append("cd ").append(quote(cwd)).append(" && ");
  cmd.append("OMP_NUM_THREADS=1 ").append(quote(std::string(TLM_BINARY_DIR) + "/tlm"));
  for (const std::string& a : args) cmd.append(" ").append(quote(a));
  cmd.append(" > ").append(quote(dir / "stdout.txt")).append(" 2> ").append(quote(dir / "stderr.txt"));
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = testing::read_bytes(dir / "stdout.txt");
  r.err = testing::read_bytes(dir / "stderr.txt");
  return r;
}

std::vector<std::string> train_args(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"train"};
  for (const std::string& s : tiny_sets(dir)) a.insert(a.end(), {"--set", s});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(RunDir, ASecondTrainIntoTheSameOutDirRefusesAndChangesNothing) {
  TempDir dir;
  CliRun first = tlm(dir, train_args(dir));
  ASSERT_EQ(first.status, 0) << first.err;
  const std::string ckpt = testing::read_bytes(dir / "out/ckpt.bin");
  const std::string log = testing::read_bytes(dir / "out/log.jsonl");
  ASSERT_FALSE(ckpt.empty());
  ASSERT_FALSE(log.empty());

  CliRun second = tlm(dir, train_args(dir, {"--set", "max_iters=3"}));
  EXPECT_EQ(second.status, 1);
  for (const char* needle : {"tlm: error: train: out_dir", "already holds a run", "ckpt.bin (at step 6)",
                             "log.jsonl", "--resume", "--overwrite", "--set out_dir=DIR"})
    EXPECT_NE(second.err.find(needle), std::string::npos) << needle << "\n" << second.err;
  EXPECT_EQ(testing::read_bytes(dir / "out/ckpt.bin"), ckpt);
  EXPECT_EQ(testing::read_bytes(dir / "out/log.jsonl"), log);

  // --resume appends to the log: the first run's records stay, byte for byte.
  CliRun resumed = tlm(dir, train_args(dir, {"--set", "max_iters=8", "--resume"}));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  const std::string log2 = testing::read_bytes(dir / "out/log.jsonl");
  EXPECT_EQ(log2.substr(0, log.size()), log);
  EXPECT_EQ(log_records(dir / "out/log.jsonl", "header").size(), 2u);
  EXPECT_EQ(log_records(dir / "out/log.jsonl", "step").size(), 8u);

  // --overwrite: a new run, explicitly; the old files are replaced.
  CliRun over = tlm(dir, train_args(dir, {"--set", "max_iters=3", "--overwrite"}));
  ASSERT_EQ(over.status, 0) << over.err;
  EXPECT_EQ(load_checkpoint(dir / "out/ckpt.bin").meta.at("step"), 3);
  EXPECT_EQ(log_records(dir / "out/log.jsonl", "header").size(), 1u);
  EXPECT_EQ(log_records(dir / "out/log.jsonl", "step").size(), 3u);

  CliRun both = tlm(dir, train_args(dir, {"--resume", "--overwrite"}));
  EXPECT_EQ(both.status, 1);
  EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;
}

TEST(RunDir, PrepareOutDir) {
  TempDir dir;
  const std::string out = dir / "out";
  EXPECT_NO_THROW(prepare_out_dir(out, RunStart::Fresh, "train"));  // does not exist yet
  EXPECT_TLM_ERROR(prepare_out_dir(out, RunStart::Resume, "train"), "train --resume: no checkpoint at",
                   "ckpt.bin");
  fs::create_directories(out);
  testing::write_bytes(out + "/log.jsonl", "{}\n");  // a run killed before its first checkpoint
  EXPECT_TLM_ERROR(prepare_out_dir(out, RunStart::Fresh, "tune"), "tune: out_dir", "log.jsonl",
                   "--overwrite");
  testing::write_bytes(out + "/ckpt.bin", "not a checkpoint");
  EXPECT_TLM_ERROR(prepare_out_dir(out, RunStart::Fresh, "train"), "ckpt.bin (unreadable");
  EXPECT_NO_THROW(prepare_out_dir(out, RunStart::Resume, "train"));
  prepare_out_dir(out, RunStart::Overwrite, "train");
  EXPECT_TRUE(run_files(out).empty());
  testing::write_bytes(out + "/notes.txt", "mine");  // other files are never touched
  EXPECT_NO_THROW(prepare_out_dir(out, RunStart::Fresh, "train"));
  EXPECT_EQ(testing::read_bytes(out + "/notes.txt"), "mine");
}

// ---- resume restores the config ----

TEST(ResumeConfig, TakesEveryKeyFromTheCheckpointAndRefusesModelKeysAllAtOnce) {
  TempDir dir;
  TrainConfig trained = tiny_config(dir);
  trained.apply_overrides({"n_layer=2", "learning_rate=0.01", "min_lr=0.005"});
  trained.data = absolute_data_path(trained.data);
  const nlohmann::json saved = trained.to_json();

  // Nothing named: the checkpoint's config, every key.
  EXPECT_EQ(resume_config(saved, nullptr, {}, "c.bin").to_json(), saved);
  // Resumable keys change; a model key given with its saved value is fine.
  TrainConfig r = resume_config(saved, nlohmann::json{{"n_layer", 2}, {"max_iters", 50}},
                                {"eval_interval=5", "min_lr=0.001", "threads=2"}, "c.bin");
  EXPECT_EQ(r.max_iters, 50);
  EXPECT_EQ(r.eval_interval, 5);
  EXPECT_EQ(r.number("min_lr"), 0.001);
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(r.n_layer, 2);
  EXPECT_EQ(r.learning_rate, 0.01);  // from the checkpoint, not the default 1e-3
  // In order, the file's keys then --set: the last assignment wins, even one back to the saved value.
  EXPECT_EQ(resume_config(saved, nlohmann::json{{"max_iters", 50}}, {"max_iters=6"}, "c.bin").max_iters, 6);
  // data given relative to the working directory, as the absolute path stored: not a change.
  const std::string rel = fs::relative(trained.data).string();
  EXPECT_EQ(resume_config(saved, nullptr, {"data=" + rel}, "c.bin").data, trained.data);
  // Every refused key in one error, with both values.
  EXPECT_TLM_ERROR(resume_config(saved, nlohmann::json{{"n_embd", 32}},
                                 {"n_layer=6", "data=other.txt", "max_iters=9", "tokenizer=bpe"}, "c.bin"),
                   "resume: c.bin cannot change", "n_embd (16 -> 32)", "n_layer (2 -> 6)",
                   "data (", "other.txt", "tokenizer (\"char\" -> \"bpe\")", "tlm info --ckpt c.bin");
  EXPECT_TLM_ERROR(resume_config(saved, nullptr, {"n_layers=3"}, "c.bin"), "did you mean 'n_layer'");
  EXPECT_FALSE(resumable_key("seed", trained));
  EXPECT_FALSE(resumable_key("optimizer", trained));
  EXPECT_TRUE(resumable_key("lr_decay_iters", trained));
  // The keys the registries' entries name: every loss's and schedule's (derived from the
  // registries, so a new loss's key is resumable with no list to edit), no optimizer's (they
  // shape its state).
  for (const nn::EntryKey& k : nn::entry_keys(nn::loss_registry())) EXPECT_TRUE(resumable_key(k.name, trained)) << k.name;
  for (const nn::EntryKey& k : nn::entry_keys(optim::schedule_registry())) EXPECT_TRUE(resumable_key(k.name, trained)) << k.name;
  for (const nn::EntryKey& k : nn::entry_keys(optim::optimizer_registry())) EXPECT_FALSE(resumable_key(k.name, trained)) << k.name;
  EXPECT_TRUE(resumable_key("focal_gamma", trained));
  EXPECT_FALSE(resumable_key("beta2", trained));
}

// block_size sizes the learned position table and nothing else: a RoPE or position-free run may
// continue at another context, a learned-position run may not.
TEST(ResumeConfig, BlockSizeChangesOnlyWhenNoWeightDependsOnIt) {
  TempDir dir;
  TrainConfig trained = tiny_config(dir);
  trained.data = absolute_data_path(trained.data);
  ASSERT_EQ(trained.pos, nn::Pos::Learned);
  EXPECT_TRUE(weights_depend_on_block_size(trained));
  EXPECT_FALSE(resumable_key("block_size", trained));
  EXPECT_TLM_ERROR(resume_config(trained.to_json(), nullptr, {"block_size=32"}, "c.bin"),
                   "cannot change block_size (16 -> 32)");
  for (const char* pos : {"rope", "none"}) {
    TrainConfig t = trained;
    t.apply_overrides({std::string("pos=") + pos});
    EXPECT_FALSE(weights_depend_on_block_size(t)) << pos;
    EXPECT_TRUE(resumable_key("block_size", t)) << pos;
    EXPECT_FALSE(resumable_key("n_embd", t)) << pos;
    EXPECT_EQ(resume_config(t.to_json(), nullptr, {"block_size=32"}, "c.bin").block_size, 32) << pos;
    // the other model keys stay refused
    EXPECT_TLM_ERROR(resume_config(t.to_json(), nullptr, {"block_size=32", "n_embd=32"}, "c.bin"),
                     "n_embd (16 -> 32)");
  }
}

TEST(ResumeConfig, TheCliResumesFromAnotherDirectoryWithOnlyOutDir) {
  // The case: train with data and n_layer set, then `--resume --set out_dir=X` alone,
  // from another working directory, with a relative data path at training time.
  TempDir dir;
  testing::write_bytes(dir / "small.txt", tiny_text());
  fs::create_directories(dir / "elsewhere");
  CliRun first = tlm(dir, {"train", "--set", "data=small.txt", "--set", "n_layer=2", "--set", "n_head=2",
                        "--set", "n_embd=16", "--set", "block_size=16", "--set", "batch_size=4",
                        "--set", "max_iters=4", "--set", "eval_iters=1", "--set", "threads=1",
                        "--set", "warmup_iters=1", "--set", "out_dir=" + (dir / "X")},
                  dir.path().string());
  ASSERT_EQ(first.status, 0) << first.err;
  Checkpoint ck = load_checkpoint(dir / "X/ckpt.bin");
  EXPECT_EQ(ck.meta.at("config").at("data"), dir / "small.txt");  // stored absolute
  EXPECT_EQ(ck.meta.at("data_file").at("bytes"), tiny_text().size());

  CliRun resumed = tlm(dir, {"train", "--set", "out_dir=" + (dir / "X"), "--resume", "--set", "max_iters=6"},
                    dir / "elsewhere");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from step 4"), std::string::npos) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out).at("iters"), 6);

  CliRun refused = tlm(dir, {"train", "--set", "out_dir=" + (dir / "X"), "--resume", "--set", "n_layer=3",
                          "--set", "n_embd=32"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("n_layer (2 -> 3), n_embd (16 -> 32)"), std::string::npos) << refused.err;

  // The data file moved, then changed: both named.
  fs::rename(dir / "small.txt", dir / "moved.txt");
  CliRun moved = tlm(dir, {"train", "--set", "out_dir=" + (dir / "X"), "--resume", "--set", "max_iters=7"});
  EXPECT_EQ(moved.status, 1);
  EXPECT_NE(moved.err.find("the data file " + (dir / "small.txt")), std::string::npos) << moved.err;
  EXPECT_NE(moved.err.find("is missing (moved or deleted?)"), std::string::npos) << moved.err;
  testing::write_bytes(dir / "small.txt", tiny_text() + "one more line\n");
  CliRun changed = tlm(dir, {"train", "--set", "out_dir=" + (dir / "X"), "--resume", "--set", "max_iters=7"});
  EXPECT_EQ(changed.status, 1);
  EXPECT_NE(changed.err.find("has changed since"), std::string::npos) << changed.err;
  EXPECT_NE(changed.err.find(fmt::format("it was {} bytes", tiny_text().size())), std::string::npos) << changed.err;
}

// ---- checkpoints during training ----

TEST(Checkpoints, WrittenAtEveryEvaluationAndTheBestKept) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"eval_interval=3", "max_iters=7", "ckpt_best=true", "learning_rate=0.01"});
  EXPECT_EQ(TrainConfig().ckpt_minutes, 10);  // on by default
  Trainer t(cfg, false);
  t.run(quiet());
  std::vector<int64_t> steps;
  std::vector<std::string> reasons;
  for (const auto& r : log_records(dir / "out/log.jsonl", "checkpoint"))
    if (r.at("reason") != "best") steps.push_back(r.at("step")), reasons.push_back(r.at("reason"));
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 6, 7}));
  EXPECT_EQ(reasons, (std::vector<std::string>{"eval", "eval", "final"}));
  // ckpt_best.bin: the evaluation with the lowest validation loss.
  double best = INFINITY;
  int64_t best_step = -1;
  for (const auto& e : log_records(dir / "out/log.jsonl", "eval"))
    if (e.at("val_loss").get<double>() < best) best = e.at("val_loss"), best_step = e.at("step");
  Checkpoint b = load_checkpoint(dir / "out/ckpt_best.bin");
  EXPECT_EQ(b.meta.at("step"), best_step);
  EXPECT_EQ(b.meta.at("best_val_loss").get<double>(), best);
  EXPECT_EQ(t.best_val_loss(), best);
  Checkpoint last = load_checkpoint(dir / "out/ckpt.bin");
  EXPECT_EQ(last.meta.at("losses").at("step"), 7);
  EXPECT_EQ(last.meta.at("best_val_loss").get<double>(), best);
}

TEST(Checkpoints, WrittenByWallClockTime) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"eval_interval=0", "eval_iters=0", "max_iters=5", "ckpt_minutes=1e-9"});
  Trainer t(cfg, false);
  t.run(quiet());
  std::vector<int64_t> time_steps;
  for (const auto& r : log_records(dir / "out/log.jsonl", "checkpoint"))
    if (r.at("reason") == "time") time_steps.push_back(r.at("step"));
  EXPECT_EQ(time_steps, (std::vector<int64_t>{1, 2, 3, 4}));  // then the final one at 5

  cfg.apply_overrides({"ckpt_minutes=0", "out_dir=" + (dir / "off")});
  Trainer off(cfg, false);
  off.run(quiet());
  EXPECT_EQ(log_records(dir / "off/log.jsonl", "checkpoint").size(), 1u);  // the final one only
}

// ---- tlm info --ckpt ----

TEST(CheckpointInfo, ConfigStepLossesParamsAndHashes) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  Trainer t(cfg, false);
  TrainSummary s = t.run(quiet());
  const nlohmann::json j = checkpoint_info(t.checkpoint_path());
  EXPECT_EQ(j.at("step"), 6);
  EXPECT_EQ(j.at("params"), t.model().num_parameters());
  EXPECT_EQ(j.at("losses").at("val_loss").get<double>(), s.val_loss);
  EXPECT_EQ(j.at("losses").at("train_loss").get<double>(), s.train_loss);
  EXPECT_EQ(j.at("config"), t.config().to_json());
  EXPECT_EQ(j.at("data_file").at("crc32"), fmt::format("0x{:08x}", crc32(tiny_text())));
  EXPECT_EQ(j.at("vocab_size"), t.tokenizer().vocab_size());
  const std::string bytes = testing::read_bytes(t.checkpoint_path());
  EXPECT_EQ(j.at("file_crc32"), fmt::format("0x{:08x}", crc32(std::string_view(bytes).substr(0, bytes.size() - 4))));
  const std::string text = checkpoint_info_text(j);
  for (const std::string& needle : {std::string("step         6"), std::string("n_layer"),
                                    fmt::format("val {:.4f}", s.val_loss), j.at("file_crc32").get<std::string>()})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;

  CliRun text_run = tlm(dir, {"info", "--ckpt", t.checkpoint_path()});
  EXPECT_EQ(text_run.status, 0) << text_run.err;
  EXPECT_EQ(text_run.out, text);
  CliRun json_run = tlm(dir, {"info", "--ckpt", t.checkpoint_path(), "--json"});
  EXPECT_EQ(json_run.status, 0) << json_run.err;
  EXPECT_EQ(nlohmann::json::parse(json_run.out), j);
}

// ---- a log that cannot be written ----

TEST(RunLog, AFailedWriteStopsTheRunNamingTheLastCheckpoint) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"max_iters=2"});
  Trainer first(cfg, false);
  first.run(quiet());
  // A full disk under the log: /dev/full fails every write with ENOSPC.
  fs::remove(dir / "out/log.jsonl");
  fs::create_symlink("/dev/full", dir / "out/log.jsonl");
  cfg.apply_overrides({"max_iters=4"});
  Trainer resumed(cfg, true);
  EXPECT_TLM_ERROR(resumed.run(quiet()), "cannot write the log", "No space left on device",
                   "stopping the run", "last good checkpoint is " + (dir / "out/ckpt.bin") + " at step 2");
  EXPECT_EQ(load_checkpoint(dir / "out/ckpt.bin").meta.at("step"), 2);
}

// ---- the dead ends ----

TEST(DeadEnds, TokenizerFileFromTlmTokenizeTrains) {
  TempDir dir;
  TrainConfig cfg = tiny_config(dir);
  CliRun tok = tlm(dir, {"tokenize", "--data", dir / "input.txt", "--vocab_size", "300", "--out", dir / "bpe.json"});
  ASSERT_EQ(tok.status, 0) << tok.err;
  cfg.apply_overrides({"tokenizer_file=" + (dir / "bpe.json")});
  Trainer t(cfg, false);
  const int32_t vocab = load_tokenizer_file(dir / "bpe.json")->vocab_size();  // <= 300: merges may run out
  EXPECT_GT(vocab, 256);
  EXPECT_EQ(t.tokenizer().name(), "bpe");
  EXPECT_EQ(t.tokenizer().vocab_size(), vocab);
  EXPECT_EQ(t.config().tokenizer, "bpe");
  EXPECT_EQ(t.config().integer("bpe_vocab_size"), vocab);
  t.run(quiet());
  EXPECT_EQ(load_checkpoint(t.checkpoint_path()).meta.at("tokenizer"),
            load_tokenizer_file(dir / "bpe.json")->to_json());
  cfg.apply_overrides({"tokenizer_file=" + (dir / "missing.json")});
  EXPECT_TLM_ERROR(Trainer(cfg, false), "missing.json");
}

TEST(DeadEnds, BinaryDataIsRefusedUnlessAllowed) {
  TempDir dir;
  std::string noise;
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) noise += static_cast<char>(rng.next_u64() & 0xFF);
  const TextStats st = text_stats(noise);
  EXPECT_GT(st.non_text, 20000 / 2);
  EXPECT_EQ(text_stats("plain text, Ünïcödé, tabs\t and\r\n lines\f").non_text, 0);
  EXPECT_EQ(text_stats(std::string("a\0b\x7f\xc3", 5)).non_text, 3);
  EXPECT_EQ(text_stats("\xed\xa0\x80").non_text, 3);  // a UTF-16 surrogate is not UTF-8
  EXPECT_TLM_ERROR(check_text(noise, "noise.bin"), "data: noise.bin does not look like text",
                   fmt::format("the first: byte 0x{:02x} at offset {}", st.first_byte, st.first_offset),
                   "allow_binary=true");
  EXPECT_NO_THROW(check_text(tiny_text(), "t.txt"));
  testing::write_bytes(dir / "noise.bin", noise);
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"data=" + (dir / "noise.bin"), "block_size=8"});
  EXPECT_TLM_ERROR(Trainer(cfg, false), "does not look like text", "noise.bin");
  cfg.apply_overrides({"allow_binary=true"});
  EXPECT_NO_THROW(Trainer(cfg, false));
}

TEST(DeadEnds, CommandLineErrorsAreUserFacing) {
  TempDir dir;
  CliRun hint = tlm(dir, {"train", "--n_layer=2"});
  EXPECT_EQ(hint.status, 1);
  EXPECT_EQ(hint.err.rfind("tlm: error: ", 0), 0u) << hint.err;
  EXPECT_NE(hint.err.find("--set n_layer=2"), std::string::npos) << hint.err;
  CliRun unknown = tlm(dir, {"eval", "--nope"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_EQ(unknown.err.rfind("tlm: error: ", 0), 0u) << unknown.err;
  CliRun help = tlm(dir, {"eval", "--help"});
  EXPECT_EQ(help.status, 0);
  TrainConfig cfg = tiny_config(dir);
  cfg.apply_overrides({"max_iters=1"});
  Trainer t(cfg, false);
  t.run(quiet());
  CliRun batch0 = tlm(dir, {"eval", "--ckpt", t.checkpoint_path(), "--batch_size", "0"});
  EXPECT_EQ(batch0.status, 1);
  EXPECT_NE(batch0.err.find("eval: --batch_size must be at least 1, got 0"), std::string::npos) << batch0.err;
  CliRun negative = tlm(dir, {"eval", "--ckpt", t.checkpoint_path(), "--block_size", "-3"});
  EXPECT_EQ(negative.status, 1);
  EXPECT_NE(negative.err.find("eval: --block_size must be at least 1"), std::string::npos) << negative.err;
  CliRun tune = tlm(dir, {"tune", "--ckpt", t.checkpoint_path(), "--method", "full", "--data", dir / "input.txt",
                          "--set", "max_iters=1", "--set", "eval_iters=0", "--set", "out_dir=" + (dir / "tuned")});
  EXPECT_EQ(tune.status, 0) << tune.err;
  EXPECT_NE(tune.err.find("tlm tune: "), std::string::npos) << tune.err;
  EXPECT_EQ(tune.err.find("tlm train: "), std::string::npos) << tune.err;
}

}  // namespace
}  // namespace tlm::train
