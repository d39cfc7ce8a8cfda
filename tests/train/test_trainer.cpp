// The training loop end to end on a small synthetic corpus: learning happens, resume is
// bit-exact, checkpoints reload into eval/sample, and bad input is refused before anything
// is written.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

// A deterministic text with structure a tiny model can learn (repeated phrases).
std::string synthetic_corpus() {
  const char* words[] = {"the ", "king ", "and ", "queen ", "of ", "verona ", "speak ", "thus ",
                         "my ", "lord ", "\n"};
  Rng rng(5);
  std::string s;
  while (s.size() < 20000) s += words[rng.randint(11)];
  return s;
}

TrainConfig tiny_config(const TempDir& dir, const std::string& data) {
  TrainConfig cfg;
  cfg.apply_overrides({"data=" + data, "out_dir=" + (dir / "run"), "n_layer=2", "n_head=2",
                       "n_embd=16", "block_size=16", "batch_size=4", "max_iters=20",
                       "lr_decay_iters=20", "warmup_iters=2", "eval_interval=0", "eval_iters=2",
                       "learning_rate=3e-3", "dropout=0.1", "threads=1"});
  return cfg;
}

std::map<std::string, std::vector<float>> weights(nn::GPT& m) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [name, t] : m.named_parameters()) out[name] = t.to_vector<float>();
  return out;
}

TEST(Trainer, LossGoesDownOnALearnableText) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", synthetic_corpus());
  TrainConfig cfg = tiny_config(dir, dir / "text.txt");
  cfg.apply_overrides({"max_iters=60", "lr_decay_iters=60", "dropout=0.0"});
  Trainer t(cfg, false);
  EvalResult before = t.evaluate(0);
  TrainSummary s = t.run(stderr);
  EXPECT_EQ(s.iters, 60);
  EXPECT_LT(s.val_loss, before.val_loss - 0.5) << "before " << before.val_loss;
  EXPECT_GT(s.tokens_per_s, 0);
  EXPECT_GT(s.peak_bytes, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "run/ckpt.bin"));
  EXPECT_TRUE(std::filesystem::exists(dir / "run/log.jsonl"));
}

TEST(Trainer, TwentyStepsEqualTenPlusResumePlusTenBitForBit) {
  // Dropout on, so the dropout RNG stream must resume exactly too.
  TempDir straight_dir, split_dir;
  testing::write_bytes(straight_dir / "text.txt", synthetic_corpus());
  TrainConfig a = tiny_config(straight_dir, straight_dir / "text.txt");
  Trainer straight(a, false);
  straight.run(stderr);

  TrainConfig b = tiny_config(split_dir, straight_dir / "text.txt");
  b.apply_overrides({"max_iters=10"});  // the schedule (lr_decay_iters=20) is unchanged
  {
    Trainer first(b, false);
    first.run(stderr);
  }
  b.apply_overrides({"max_iters=20"});
  Trainer second(b, true);
  EXPECT_EQ(second.step(), 10);
  second.run(stderr);
  auto wa = weights(straight.model());
  auto wb = weights(second.model());
  ASSERT_EQ(wa.size(), wb.size());
  for (auto& [name, v] : wa) EXPECT_EQ(v, wb.at(name)) << name;  // exact, not approximate
}

TEST(Trainer, CheckpointReloadsForEvalAndSampling) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", synthetic_corpus());
  TrainConfig cfg = tiny_config(dir, dir / "text.txt");
  Trainer t(cfg, false);
  t.run(stderr);
  LoadedModel m = load_model(dir / "run/ckpt.bin");
  EXPECT_EQ(m.step, 20);
  auto wa = weights(t.model());
  auto wb = weights(*m.model);
  for (auto& [name, v] : wa) EXPECT_EQ(v, wb.at(name)) << name;
  Rng rng(1);
  Tensor prompt = Tensor::from_vector(m.tokenizer->encode("the "), {1, 4});
  Tensor out = m.model->generate(prompt, 10, 0.8, 0, 1.0, rng);
  EXPECT_EQ(out.size(1), 14);
}

TEST(TrainerErrors, ResumeWithAnotherModelConfigIsRefused) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", synthetic_corpus());
  TrainConfig cfg = tiny_config(dir, dir / "text.txt");
  cfg.apply_overrides({"max_iters=2"});
  { Trainer(cfg, false).run(stderr); }
  const std::string before = testing::read_bytes(dir / "run/ckpt.bin");
  TrainConfig other = cfg;
  other.apply_overrides({"n_embd=32"});
  EXPECT_TLM_ERROR(Trainer(other, true), "resume:", "n_embd = 16", "32");
  EXPECT_EQ(testing::read_bytes(dir / "run/ckpt.bin"), before);  // the good checkpoint is untouched
}

TEST(TrainerErrors, DataTooShortOrMissingIsRefusedBeforeWriting) {
  TempDir dir;
  testing::write_bytes(dir / "short.txt", "to be or not");
  TrainConfig cfg = tiny_config(dir, dir / "short.txt");
  EXPECT_TLM_ERROR(Trainer(cfg, false), "fewer than block_size+1");
  TrainConfig missing = tiny_config(dir, dir / "nope.txt");
  EXPECT_TLM_ERROR(Trainer(missing, false), "nope.txt");
  testing::write_bytes(dir / "empty.txt", "");
  TrainConfig empty = tiny_config(dir, dir / "empty.txt");
  EXPECT_TLM_ERROR(Trainer(empty, false), "empty.txt");
  EXPECT_FALSE(std::filesystem::exists(dir / "run/ckpt.bin"));
}

TEST(TrainerErrors, CorruptCheckpointIsRefusedOnResume) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", synthetic_corpus());
  TrainConfig cfg = tiny_config(dir, dir / "text.txt");
  cfg.apply_overrides({"max_iters=2"});
  { Trainer(cfg, false).run(stderr); }
  std::string bytes = testing::read_bytes(dir / "run/ckpt.bin");
  bytes[bytes.size() / 2] ^= 0x5a;
  testing::write_bytes(dir / "run/ckpt.bin", bytes);
  EXPECT_TLM_ERROR(Trainer(cfg, true), "corrupt");
  testing::write_bytes(dir / "run/ckpt.bin", bytes.substr(0, bytes.size() / 3));
  EXPECT_TLM_ERROR(Trainer(cfg, true), "truncated");
}

// Metadata that passes the CRC but has the wrong JSON types is a tlm::Error naming the file, for
// both `--resume` and `load_model` (eval, sample), not an nlohmann exception.
TEST(TrainerErrors, CheckpointMetadataOfTheWrongTypesIsRefused) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", synthetic_corpus());
  TrainConfig cfg = tiny_config(dir, dir / "text.txt");
  cfg.apply_overrides({"max_iters=2"});
  { Trainer(cfg, false).run(stderr); }
  const Checkpoint good = load_checkpoint(dir / "run/ckpt.bin");
  const std::vector<std::pair<std::string, nlohmann::json>> edits = {
      {"step", "two"}, {"rng", 7}, {"optim_scalars", "none"}};
  for (const auto& [key, value] : edits) {
    SCOPED_TRACE(key);
    Checkpoint bad = good;
    bad.meta[key] = value;
    save_checkpoint(dir / "run/ckpt.bin", bad);
    EXPECT_TLM_ERROR(Trainer(cfg, true), "ckpt.bin", "metadata has the wrong shape");
    if (key == "step") EXPECT_TLM_ERROR(load_model(dir / "run/ckpt.bin"), "ckpt.bin", "wrong shape");
  }
  // The tokenizer's own checks name what is wrong with it.
  Checkpoint bad = good;
  bad.meta["tokenizer"] = nlohmann::json::array();
  save_checkpoint(dir / "run/ckpt.bin", bad);
  EXPECT_TLM_ERROR(Trainer(cfg, true), "tokenizer", "known: char, bpe");
  EXPECT_TLM_ERROR(load_model(dir / "run/ckpt.bin"), "tokenizer", "known: char, bpe");
}

}  // namespace
}  // namespace tlm::train
