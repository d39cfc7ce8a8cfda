// precision = bf16 | fp16 in the training loop (docs/methods.md, "bf16 and fp16"): a matrix of
// block types, norm placements, losses and optimizers trains a few steps finite and close to
// fp32; fp16 dynamic loss scaling resumes bit for bit with its scaler state; the log carries the
// scaler statistics; a collapsing scale stops naming the step; bad values are refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/train/test_util.h"
#include "tensor/kernels/gemm_bf16.h"
#include "train/io/checkpoint.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

struct DevNull {
  std::FILE* f = std::fopen("/dev/null", "w");
  ~DevNull() { std::fclose(f); }
};

TrainConfig tiny(const TempDir& dir, const std::string& name, const std::vector<std::string>& extra) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=2", "n_head=2", "n_embd=16", "block_size=16", "batch_size=4",
                       "max_iters=4", "lr_decay_iters=4", "warmup_iters=0", "eval_iters=2",
                       "eval_interval=1000", "threads=1", "learning_rate=3e-3",
                       fmt::format("data={}", dir / "input.txt"),
                       fmt::format("out_dir={}", dir / name)});
  cfg.apply_overrides(extra);
  return cfg;
}

void write_text(const TempDir& dir) {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "Now is the winter of our discontent, made glorious summer.\n";
  testing::write_bytes(dir / "input.txt", text);
}

using testing::log_records;

// Every block type, norm placement, loss and optimizer appears at least once; each trains 4
// steps in bf16 and in fp16 (dynamic scaling) to losses close to the fp32 run's.
TEST(MixedPrecision, BlocksLossesAndOptimizersTrainCloseToFp32) {
  TempDir dir;
  write_text(dir);
  DevNull null;
  const std::vector<std::vector<std::string>> matrix = {
      {"block=transformer", "norm=pre", "loss=ce", "optimizer=adamw"},
      {"block=transformer", "norm=post", "loss=focal", "optimizer=lion", "learning_rate=3e-4"},
      {"block=transformer", "norm=deepnorm", "loss=label_smoothing", "optimizer=sgd"},
      {"block=gau", "norm=pre", "loss=tailr", "optimizer=adamw", "gau_attn_size=8"},
      {"block=gau", "norm=deepnorm", "loss=emo", "optimizer=lion", "gau_attn_size=8",
       "learning_rate=3e-4", "pos=rope", "ffn=swiglu", "norm_type=rmsnorm"},
  };
  int k = 0;
  for (const auto& m : matrix) {
    double ref = NAN;
    for (const char* p : {"fp32", "bf16", "fp16"}) {
      SCOPED_TRACE(fmt::format("{} precision={}", nlohmann::json(m).dump(), p));
      std::vector<std::string> extra = m;
      extra.push_back(fmt::format("precision={}", p));
      Trainer t(tiny(dir, fmt::format("m{}_{}", k, p), extra), false);
      TrainSummary s = t.run(null.f);
      ASSERT_EQ(s.iters, 4);
      ASSERT_TRUE(std::isfinite(s.val_loss));
      for (auto& [name, w] : t.model().named_parameters())
        for (float v : w.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << name;
      if (std::string(p) == "fp32") {
        ref = s.val_loss;
      } else {
        EXPECT_NEAR(s.val_loss, ref, 0.02 * ref);
      }
      if (std::string(p) == "fp16") {
        EXPECT_EQ(s.scaler_skipped_steps, 0);
      }
    }
    ++k;
  }
}

TEST(MixedPrecision, Fp16LogCarriesScalerAndRoundingStatistics) {
  TempDir dir;
  write_text(dir);
  DevNull null;
  Trainer t(tiny(dir, "run", {"precision=fp16", "loss_scale_interval=2"}), false);
  TrainSummary s = t.run(null.f);
  EXPECT_EQ(s.precision, Precision::F16);
  EXPECT_EQ(s.loss_scale, 65536.0 * 4);  // grew twice in 4 good steps
  int steps = 0;
  for (const auto& r : log_records(dir / "run/log.jsonl")) {
    if (r.at("kind") != "step") continue;
    ++steps;
    EXPECT_TRUE(r.contains("loss_scale") && r.contains("scaler_skipped") &&
                r.contains("grad_underflow") && r.contains("overflow")) << r.dump();
    EXPECT_GE(r.at("grad_underflow").get<double>(), 0.0);
    EXPECT_LT(r.at("grad_underflow").get<double>(), 0.5);
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(s.to_json().at("loss_scale").get<double>(), 65536.0 * 4);
}

TEST(MixedPrecision, Fp16OverflowSkipsStepsBacksOffAndResumesBitForBit) {
  // An initial scale of 2^40 overflows fp16 (max 65504): the first steps are skipped while
  // the scale backs off by 2^-8 per skip, then training proceeds. 6 straight steps must
  // equal 3 + resume + 3, scaler state included.
  TempDir dir;
  write_text(dir);
  DevNull null;
  const std::vector<std::string> amp = {"precision=fp16", "loss_scale_init=1099511627776",
                                        "loss_scale_backoff=0.00390625", "loss_scale_interval=2",
                                        "max_iters=6", "lr_decay_iters=6", "dropout=0.1"};
  Trainer straight(tiny(dir, "straight", amp), false);
  TrainSummary s = straight.run(null.f);
  EXPECT_GT(s.scaler_skipped_steps, 0);
  EXPECT_LT(s.scaler_skipped_steps, 6);
  int skips = 0;
  for (const auto& r : log_records(dir / "straight/log.jsonl"))
    if (r.at("kind") == "skip") {
      ++skips;
      EXPECT_NE(r.at("reason").get<std::string>().find("overflowed"), std::string::npos);
    }
  EXPECT_EQ(skips, s.scaler_skipped_steps);

  TrainConfig half = tiny(dir, "split", amp);
  half.apply_overrides({"max_iters=3"});
  {
    Trainer first(half, false);
    first.run(null.f);
  }
  half.apply_overrides({"max_iters=6"});
  Trainer second(half, true);
  TrainSummary s2 = second.run(null.f);
  EXPECT_EQ(s2.loss_scale, s.loss_scale);
  EXPECT_EQ(s2.scaler_skipped_steps, s.scaler_skipped_steps);
  auto pa = straight.model().named_parameters(), pb = second.model().named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(pa[i].second.to_vector<float>(), pb[i].second.to_vector<float>()) << pa[i].first;
}

TEST(MixedPrecision, ScaleCollapsingToTheMinimumStopsNamingTheStep) {
  TempDir dir;
  write_text(dir);
  DevNull null;
  // Every step overflows at these scales; the floor is reached after two backoffs.
  Trainer t(tiny(dir, "run", {"precision=fp16", "loss_scale_init=1e19", "loss_scale_min=2.5e18",
                              "max_iters=50", "lr_decay_iters=50"}),
            false);
  try {
    t.run(null.f);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("step 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("loss_scale_min"), std::string::npos) << msg;
  }
}

TEST(MixedPrecision, StaticScaleOfOneIsPlainFp16) {
  TempDir dir;
  write_text(dir);
  DevNull null;
  Trainer t(tiny(dir, "run", {"precision=fp16", "loss_scale=1"}), false);
  TrainSummary s = t.run(null.f);
  EXPECT_EQ(s.loss_scale, 1.0);
  EXPECT_TRUE(std::isfinite(s.val_loss));
}

// `tlm train` says what ran the products (autograd/precision.h:precision_kernel): bf16 on the
// AVX-512 BF16 kernel only where the CPU has it, otherwise "emulated" in the console and in the
// run summary; fp16 is always emulated; an fp32 run reports nothing of the kind.
TEST(MixedPrecision, TheRunSaysWhenBf16IsEmulated) {
  TempDir dir;
  write_text(dir);
  const std::string base = "train --set n_layer=1 --set n_head=2 --set n_embd=16 --set block_size=16 "
                           "--set batch_size=2 --set max_iters=1 --set eval_iters=1 --set threads=1 "
                           "--set data=" + (dir / "input.txt") + " --overwrite --set out_dir=";
  const bool hardware = kernels::bf16_gemm_supported();
  for (const char* p : {"bf16", "fp16", "fp32"}) {
    testing::CliRun r = testing::run_tlm_cli(dir, base + (dir / p) + " --set precision=" + p);
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json summary = nlohmann::json::parse(r.out.substr(r.out.rfind('{')));
    const std::string want = std::string(p) == "fp32" ? ""
                             : std::string(p) == "bf16" && hardware ? "avx512_bf16" : "emulated";
    if (want.empty()) {
      EXPECT_FALSE(summary.contains("precision_kernel")) << summary.dump();
      EXPECT_EQ(r.err.find("precision:"), std::string::npos) << r.err;
      continue;
    }
    EXPECT_EQ(summary.at("precision_kernel"), want) << p;
    const size_t line = r.err.find("precision: " + std::string(p));
    ASSERT_NE(line, std::string::npos) << r.err;
    const std::string shown = r.err.substr(line, r.err.find('\n', line) - line);
    EXPECT_EQ(shown.find("emulated") != std::string::npos, want == "emulated") << shown;
  }
}

TEST(MixedPrecision, BadPrecisionAndLossScalesAreRefusedNamingTheKey) {
  TrainConfig cfg;
  EXPECT_TLM_ERROR(cfg.apply_overrides({"precision=fp8"}), "precision", "fp32, bf16, fp16");
  for (const char* bad : {"loss_scale=0", "loss_scale=-2", "loss_scale=inf", "loss_scale=nan",
                          "loss_scale=big", "loss_scale=1e999", "loss_scale="})
    EXPECT_TLM_ERROR(TrainConfig().apply_overrides({bad}), "loss_scale", "positive finite");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_init=0"}), "loss_scale_init");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_init=inf"}), "loss_scale_init");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_growth=1"}), "loss_scale_growth");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_backoff=1"}), "loss_scale_backoff");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_interval=0"}), "loss_scale_interval");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_min=-1"}), "loss_scale_min");
  EXPECT_TLM_ERROR(TrainConfig().apply_overrides({"loss_scale_min=1e6"}), "loss_scale_min",
                   "loss_scale_init");
  TrainConfig ok;
  ok.apply_overrides({"loss_scale=1024", "precision=fp16"});
  EXPECT_EQ(ok.loss_scale, "1024");
}

}  // namespace
}  // namespace tlm::train
