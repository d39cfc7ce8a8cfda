// Built-in synthetic tasks (train/data/probes.h) and the variant config keys.
#include <gtest/gtest.h>

#include <cmath>

#include "train/io/config.h"
#include "train/data/probes.h"
#include "train/run/trainer.h"
#include "test_util.h"

namespace tlm::train {
namespace {

TEST(Probes, PositionProbeIsZerosWithPositionTargets) {
  Rng rng(1);
  for (const char* spec : {"probe:position", "probe:position_bos"}) {
    SyntheticTask task(spec, 8);
    EXPECT_EQ(task.vocab_size(), 8);
    EXPECT_EQ(task.tokenizer()->vocab_size(), 8);
    Batch b = task.sample_batch(2, 12, rng);
    auto x = b.x.to_vector<int32_t>(), y = b.y.to_vector<int32_t>();
    for (int t = 0; t < 12; ++t) {
      EXPECT_EQ(x[t], std::string(spec) == "probe:position_bos" && t == 0 ? 1 : 0);
      EXPECT_EQ(y[t], t < 8 ? t : -100);  // beyond the vocabulary: ignored
    }
  }
}

TEST(Probes, CopyTaskScoresOnlyTheCopy) {
  SyntheticTask task("task:copy", 32);
  EXPECT_EQ(task.vocab_size(), 16);
  Rng rng(2);
  Batch b = task.sample_batch(4, 32, rng);
  auto x = b.x.to_vector<int32_t>(), y = b.y.to_vector<int32_t>();
  for (int r = 0; r < 4; ++r) {
    const int32_t* xr = x.data() + r * 32;
    const int32_t* yr = y.data() + r * 32;
    int k = 0;
    while (xr[k] != 0) ++k;  // the separator
    EXPECT_GE(k, 4);
    EXPECT_LE(k, 16);
    for (int t = 0; t < 32; ++t) {
      if (t < k) {
        EXPECT_EQ(yr[t], -100);
      } else {
        EXPECT_EQ(yr[t], xr[(t - k) % k]) << t;
      }
      if (t + 1 < 32) {
        EXPECT_TRUE(yr[t] == -100 || yr[t] == xr[t + 1]);
      }
    }
  }
  EXPECT_THROW(SyntheticTask("task:sort", 32), Error);
}

TEST(Probes, TokenAccuracyIgnoresMaskedTargets) {
  Tensor logits = Tensor::from_vector(std::vector<float>{0, 1, 1, 0, 1, 0}, {1, 3, 2});
  Tensor y = Tensor::from_vector(std::vector<int32_t>{1, 1, -100}, {1, 3});
  TokenAccuracy a = token_accuracy(logits, y);
  EXPECT_EQ(a.count, 2);
  EXPECT_EQ(a.correct, 1);
}

TEST(Probes, CopyAccuracyByLength) {
  // Row 0: separator at 2 (k = 2), targets {-100, -100, 1, 2}; row 1: k = 1, targets
  // {-100, 3, 3, 3}. Logits put the argmax on id 1 everywhere except row 1, t = 1 (id 3).
  std::vector<float> l(2 * 4 * 4, 0.0f);
  for (int r = 0; r < 2; ++r)
    for (int t = 0; t < 4; ++t) l[(r * 4 + t) * 4 + 1] = 1.0f;
  l[(1 * 4 + 1) * 4 + 3] = 2.0f;
  Tensor logits = Tensor::from_vector(l, {2, 4, 4});
  Tensor x = Tensor::from_vector(std::vector<int32_t>{1, 2, 0, 1, 3, 0, 3, 3}, {2, 4});
  Tensor y = Tensor::from_vector(std::vector<int32_t>{-100, -100, 1, 2, -100, 3, 3, 3}, {2, 4});
  auto by = copy_accuracy_by_length(logits, x, y);
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by[2].count, 2);
  EXPECT_EQ(by[2].correct, 1);  // t = 2 right (1), t = 3 wrong (argmax 1, target 2)
  EXPECT_EQ(by[1].count, 3);
  EXPECT_EQ(by[1].correct, 1);  // only t = 1 predicts 3
  // Rows of a sampled batch: the counts add up to token_accuracy's.
  SyntheticTask task("task:copy", 32);
  Rng rng(5);
  Batch b = task.sample_batch(6, 32, rng);
  Tensor z = Tensor::zeros({6, 32, 16});
  int64_t total = 0;
  for (const auto& [k, a] : copy_accuracy_by_length(z, b.x, b.y)) {
    EXPECT_GE(k, 4);
    EXPECT_LE(k, 16);
    EXPECT_EQ(a.count % (32 - k), 0);  // every row of length k scores T - k targets
    total += a.count;
  }
  EXPECT_EQ(total, token_accuracy(z, b.y).count);
  EXPECT_THROW(copy_accuracy_by_length(logits, Tensor::from_vector(std::vector<int32_t>(8, 1), {2, 4}), y),
               Error);
}

TEST(VariantKeys, ListedWithTheirChoicesAndBadValuesRefused) {
  for (const char* k : {"block", "attn", "attn_scale", "window", "layout", "gau_expansion",
                        "gau_attn_size", "rope_base", "norm", "pos"})
    EXPECT_NE(find_config_key(k), nullptr) << k;
  auto refused = [](std::vector<std::string> sets, const std::string& needle) {
    TrainConfig c;
    try {
      c.apply_overrides(sets);
      ADD_FAILURE() << "accepted " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused({"window=65"}, "window = 65 is larger than the context");
  refused({"block=mlp"}, "transformer, gau");
  refused({"norm=layer"}, "pre, post, deepnorm");
  refused({"attn=relu"}, "softmax, relu2");
  refused({"layout=hwfa"}, "hwfa needs pos = rope");
  refused({"block=gau", "pos=rope", "gau_attn_size=7"}, "even gau_attn_size");
  TrainConfig ok;
  ok.apply_overrides({"block=gau", "pos=rope", "window=8", "layout=hwfa", "attn=relu2",
                      "attn_scale=logn", "gau_expansion=1.5", "gau_attn_size=32"});
  EXPECT_EQ(TrainConfig::from_json(ok.to_json()).to_json(), ok.to_json());
}

// `tlm train` on a built-in task with a GAU hwfa model: trains, saves, reloads with the same
// vocabulary, and the reloaded model runs at twice the training context.
TEST(Probes, TrainerRunsOnTheTasksAndTheCheckpointReloads) {
  for (const char* data : {"task:copy", "probe:position_bos"}) {
    testing::TempDir dir;
    TrainConfig c;
    c.apply_overrides({std::string("data=") + data, "block=gau", "pos=rope", "window=4",
                       "layout=hwfa", "n_layer=2", "n_embd=16", "gau_attn_size=8",
                       "block_size=16", "batch_size=2", "max_iters=3", "eval_iters=1",
                       "warmup_iters=1", "lr_decay_iters=3", "threads=1",
                       "out_dir=" + dir.path().string()});
    Trainer t(c, false);
    std::FILE* quiet = std::fopen("/dev/null", "w");
    ASSERT_NE(quiet, nullptr);
    TrainSummary s = t.run(quiet);
    std::fclose(quiet);
    EXPECT_EQ(s.iters, 3);
    EXPECT_TRUE(std::isfinite(s.val_loss)) << data;
    LoadedModel m = load_model(t.checkpoint_path());
    SyntheticTask task(data, 16);
    EXPECT_EQ(m.tokenizer->vocab_size(), task.vocab_size());
    NoGradGuard ng;
    Rng rng(1);
    Batch b = task.sample_batch(1, 32, rng);
    EXPECT_EQ(m.model->forward(b.x, rng).shape(), (Shape{1, 32, task.vocab_size()}));
  }
}

}  // namespace
}  // namespace tlm::train
