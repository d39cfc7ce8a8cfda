// Built-in synthetic tasks (train/data/probes.h) and the variant config keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/launch/resume_config.h"
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

// task:recall: m distinct keys, fillers, the separator at k, then the keys cyclically (scored);
// in the first copy each key's one earlier occurrence is k + 1 tokens back, and
// first_copy_targets keeps exactly those targets.
TEST(Probes, RecallTaskHasDistinctKeysFoundByContent) {
  SyntheticTask task("task:recall", 64);
  EXPECT_EQ(task.vocab_size(), 2 + 128);  // separator, filler, 128 keys, whatever the context
  EXPECT_EQ(SyntheticTask("task:recall", 4096).vocab_size(), 130);
  EXPECT_EQ(task.tokenizer()->vocab_size(), 130);
  EXPECT_TRUE(task.is_copy_task());
  Rng rng(3);
  for (const int T : {64, 1024}) {
    Batch b = task.sample_batch(32, T, rng);
    auto x = b.x.to_vector<int32_t>(), y = b.y.to_vector<int32_t>();
    auto first = first_copy_targets(b.x, b.y).to_vector<int32_t>();
    std::set<int> seps, lengths;
    for (int r = 0; r < 32; ++r) {
      const int32_t* xr = x.data() + r * T;
      const int32_t* yr = y.data() + r * T;
      const int32_t* fr = first.data() + r * T;
      const int k = static_cast<int>(std::find(xr, xr + T, 0) - xr);
      ASSERT_LT(k, T);
      EXPECT_EQ(std::count(xr, xr + T, 0), 1);  // one separator
      int m = 0;
      while (m < k && xr[m] >= 2) ++m;  // the keys come first
      ASSERT_GE(m, 2);
      ASSERT_LE(m, std::min(128, (T - 1) / 2));
      ASSERT_LE(k + m, T - 1);  // the first copy fits
      lengths.insert(m);
      seps.insert(k);
      std::set<int32_t> keys(xr, xr + m);
      EXPECT_EQ(static_cast<int>(keys.size()), m) << "row " << r << ": keys repeat";
      for (int t = m; t < k; ++t) EXPECT_EQ(xr[t], 1) << t;  // fillers up to the separator
      int kept = 0;
      for (int t = 0; t < T; ++t) {
        if (t > k) {
          EXPECT_EQ(xr[t], xr[(t - k - 1) % m]) << t;  // the keys, cyclically
        }
        if (t < k) {
          EXPECT_EQ(yr[t], -100) << t;
          continue;
        }
        if (t + 1 < T) {
          EXPECT_EQ(yr[t], xr[t + 1]);
        }
        const bool in_first = t < k + m;
        EXPECT_EQ(fr[t], in_first ? yr[t] : -100) << t;
        kept += in_first;
        if (in_first) {
          EXPECT_EQ(yr[t], xr[t - k]) << t;  // the target repeats the key k back
          if (t > k) {  // by content: the input key's one earlier occurrence, and the key after it
            EXPECT_EQ(std::count(xr, xr + t, xr[t]), 1) << t;
            EXPECT_EQ(yr[t], std::find(xr, xr + m, xr[t])[1]) << t;
          }
        }
      }
      EXPECT_EQ(kept, m);
    }
    EXPECT_GT(lengths.size(), 8u) << T;
    EXPECT_GT(seps.size(), 16u) << T;
    if (T == 1024) {
      EXPECT_GT(*seps.rbegin(), 512);  // long distances occur
    }
  }
  EXPECT_THROW(task.sample_batch(1, 2, rng), Error);
  EXPECT_NO_THROW(task.sample_batch(1, 3, rng));
  EXPECT_THROW(first_copy_targets(Tensor::from_vector(std::vector<int32_t>{2, 3, 1}, {1, 3}),
                                  Tensor::from_vector(std::vector<int32_t>{1, 1, 1}, {1, 3})), Error);
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
  for (const char* data : {"task:copy", "task:recall", "probe:position_bos"}) {
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
    Batch b = task.sample_batch(1, 32, rng);  // twice the training context
    EXPECT_EQ(m.model->forward(b.x, rng).shape(), (Shape{1, 32, task.vocab_size()}));
  }
}

// Context extension: a RoPE run on task:recall trained at context 16 continues at 32
// (`--resume --set block_size=32`); the resumed steps run at 32 and the checkpoint says so. A
// learned-position run refuses the same resume, naming the key.
TEST(Probes, ARopeRunContinuesAtALongerContext) {
  for (const char* pos : {"rope", "learned"}) {
    testing::TempDir dir;
    TrainConfig c;
    c.apply_overrides({"data=task:recall", std::string("pos=") + pos, "n_layer=1", "n_embd=16",
                       "n_head=2", "block_size=16", "batch_size=2", "max_iters=2", "eval_iters=1",
                       "eval_interval=2", "warmup_iters=1", "lr_decay_iters=4", "threads=1",
                       "out_dir=" + dir.path().string()});
    std::FILE* quiet = std::fopen("/dev/null", "w");
    ASSERT_NE(quiet, nullptr);
    Trainer(c, false).run(quiet);
    const std::string ckpt = (dir.path() / "ckpt.bin").string();
    const nlohmann::json saved = load_checkpoint_meta(ckpt).at("config");
    if (std::string(pos) == "learned") {
      EXPECT_TLM_ERROR(resume_config(saved, nullptr, {"block_size=32", "max_iters=4"}, ckpt),
                       "cannot change block_size (16 -> 32)");
      TrainConfig longer = c;  // a config that skips resume_config: the trainer refuses too
      longer.apply_overrides({"block_size=32", "max_iters=4"});
      EXPECT_TLM_ERROR(Trainer(longer, true), "block_size = 16, but the config says 32");
      std::fclose(quiet);
      continue;
    }
    TrainConfig longer = resume_config(saved, nullptr, {"block_size=32", "max_iters=4"}, ckpt);
    Trainer t(longer, true);
    TrainSummary s = t.run(quiet);
    std::fclose(quiet);
    EXPECT_EQ(s.iters, 4);
    EXPECT_TRUE(std::isfinite(s.val_loss));
    LoadedModel m = load_model(t.checkpoint_path());
    EXPECT_EQ(m.config.block_size, 32);
    EXPECT_EQ(m.step, 4);
  }
}

}  // namespace
}  // namespace tlm::train
