// The one training step (train/run/train_step.h), its gradient pipeline (grad_pipeline.h), the
// random streams (seeds.h) and the optimizer setup of a config (optimizer_setup.h): closed-form
// cases, and `tlm diag grads` training on exactly what `tlm train` trains on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "optim/loss_scaler.h"
#include "optim/registry.h"
#include "tests/train/test_util.h"
#include "train/diag/diag.h"
#include "train/run/grad_pipeline.h"
#include "train/launch/optimizer_setup.h"
#include "train/run/seeds.h"
#include "train/run/train_step.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

// ---- seeds ----

// Values from an independent SplitMix64 in Python: first output of state seed*0x9E37...15 + stream.
TEST(Seeds, DeriveSeedKeepsTheStreamsOfTlmTrain) {
  EXPECT_EQ(derive_seed(1337, Stream::Init), 0xb5fb75fd04446fafull);
  EXPECT_EQ(derive_seed(1337, Stream::Data), 0xdc05af7fb9d29a44ull);
  EXPECT_EQ(derive_seed(1337, Stream::Dropout), 0x9e6457b2015e7afcull);
  EXPECT_EQ(derive_seed(1337, eval_stream(100)), 0xdeebbead6806649aull);  // 4 + 16 * 100
  EXPECT_EQ(derive_seed(0, Stream::Fisher), 0x63033b0ca389c35aull);
  EXPECT_EQ(derive_seed(7, Stream::ProbeEval), 0x53fcd6513d02befeull);
}

TEST(Seeds, EvaluationStreamsNeverMeetTheFixedOnes) {
  for (int64_t step = 0; step < 1000; ++step)
    for (Stream s : {Stream::Init, Stream::Data, Stream::Dropout, Stream::Fisher,
                     Stream::ProbeEval, Stream::TaskPairs, Stream::TaskPairsVal, Stream::Sample})
      ASSERT_NE(eval_stream(step), static_cast<uint64_t>(s)) << step;
}

// ---- optimizer setup ----

TEST(OptimizerSetup, TheConfigKeysReachTheOptimizerAndSchedule) {
  TrainConfig cfg;
  cfg.apply_overrides({"learning_rate=0.002", "beta1=0.8", "beta2=0.95", "eps=1e-7",
                       "momentum=0.5", "min_lr=0.0002", "warmup_iters=10",
                       "lr_decay_iters=100"});
  // Each optimizer built from the config equals the one built from the typed form with the
  // same values (its first update on the same gradient is the same, to the bit).
  const optim::OptimizerConfig o{.lr = 0.002, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-7,
                                 .momentum = 0.5, .nesterov = false};
  for (const std::string& name : optim::optimizer_names()) {
    SCOPED_TRACE(name);
    cfg.optimizer = name;
    cfg.weight_decay = 0.0;
    Tensor a = Tensor::from_vector(std::vector<float>{0.5f, -1.0f}, {2}).set_requires_grad(true);
    Tensor b = Tensor::from_vector(std::vector<float>{0.5f, -1.0f}, {2}).set_requires_grad(true);
    auto got = make_optimizer(cfg, {{"w", a}});
    auto want = optim::make_optimizer(name, {{{{"w", b}}, 0.0, 1.0}}, o);
    for (int step = 0; step < 3; ++step) {
      for (Tensor* t : {&a, &b}) t->set_grad(Tensor::from_vector(std::vector<float>{0.25f, 0.125f * step}, {2}));
      got->step();
      want->step();
    }
    EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
    EXPECT_NE(a.to_vector<float>(), (std::vector<float>{0.5f, -1.0f}));
  }
  // schedule = cosine (the default): linear warmup, then cosine; constant stays constant.
  EXPECT_EQ(cfg.schedule, "cosine");
  auto want = optim::make_schedule("cosine", {.lr = 0.002, .min_lr = 0.0002,
                                              .warmup_iters = 10, .lr_decay_iters = 100});
  auto got = make_schedule(cfg);
  for (int64_t it : {0, 5, 10, 50, 100, 200}) EXPECT_EQ(got->lr_at(it), want->lr_at(it)) << it;
  cfg.apply_overrides({"schedule=constant"});
  EXPECT_EQ(make_schedule(cfg)->lr_at(500), 0.002);
}

// ---- the gradient pipeline ----

// Two parameters with set gradients; the pipeline over them, named.
struct Params {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2}, {2}).set_requires_grad(true);
  Tensor b = Tensor::from_vector(std::vector<float>{3}, {1}).set_requires_grad(true);
  Params(std::vector<float> ga, std::vector<float> gb) {
    a.set_grad(Tensor::from_vector(ga, {2}));
    b.set_grad(Tensor::from_vector(gb, {1}));
  }
  std::vector<Tensor> list() const { return {a, b}; }
  std::vector<std::pair<std::string, Tensor>> named() const { return {{"a", a}, {"b", b}}; }
};

TEST(GradientPipeline, ClipFactorIsTorchsOfTheGlobalNorm) {
  Params p({3, 0}, {4});  // |g| = 5
  GradientPipeline clip1({.grad_clip = 1.0}, p.named());
  GradDecision d = clip1.run(p.list(), /*loss_sum=*/6.0, /*micro_batches=*/2, false, 0);
  EXPECT_TRUE(d.apply());
  EXPECT_EQ(d.loss, 3.0);
  EXPECT_DOUBLE_EQ(d.grad_norm, 5.0);
  EXPECT_DOUBLE_EQ(d.clip, 1.0 / (5.0 + 1e-6));
  EXPECT_EQ(GradientPipeline({.grad_clip = 10.0}, p.named()).run(p.list(), 1, 1, false, 0).clip, 1.0);
  EXPECT_EQ(GradientPipeline({.grad_clip = 0.0}, p.named()).run(p.list(), 1, 1, false, 0).clip, 1.0);
}

TEST(GradientPipeline, NonFiniteGradientsStopNamingTheTensorOrSkip) {
  Params p({1, 2}, {NAN});
  EXPECT_TLM_ERROR(GradientPipeline({.nan_policy = NanPolicy::Stop}, p.named()).run(p.list(), 1, 1, false, 7),
                   "the gradient norm is nan", "'b'", "at step 7", "nan_policy = skip");
  GradDecision d = GradientPipeline({.nan_policy = NanPolicy::Skip}, p.named()).run(p.list(), 1, 1, false, 7);
  EXPECT_EQ(d.action, GradDecision::Action::SkipNonFinite);
  EXPECT_NE(d.reason.find("the gradient norm is nan"), std::string::npos) << d.reason;
  EXPECT_TLM_ERROR(GradientPipeline({.nan_policy = static_cast<NanPolicy>(7)}, p.named()), "nan_policy", "stop, skip");
}

TEST(GradientPipeline, Fp16OverflowSkipsAndLowersTheScaleElseUnscales) {
  optim::LossScaler scaler({.dynamic = true, .init_scale = 1024});
  Params inf({1, 2}, {INFINITY});
  GradientPipeline pipe({.grad_clip = 1.0}, inf.named(), nullptr, nullptr, &scaler);
  GradDecision d = pipe.run(inf.list(), 1, 1, false, 3);
  EXPECT_EQ(d.action, GradDecision::Action::SkipOverflow);
  EXPECT_NE(d.reason.find("overflowed at loss scale 1024"), std::string::npos) << d.reason;
  EXPECT_EQ(scaler.scale(), 512);
  Params ok({512, 1024}, {0});  // scaled by 512: the true gradients are (1, 2, 0)
  GradientPipeline pipe2({.grad_clip = 0.0}, ok.named(), nullptr, nullptr, &scaler);
  d = pipe2.run(ok.list(), 1, 1, false, 4);
  EXPECT_TRUE(d.apply());
  EXPECT_EQ(ok.a.grad().to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_DOUBLE_EQ(d.grad_norm, std::sqrt(5.0));
}

// ---- the step ----

// loss = sum(w * x) for the micro-batch x: dloss/dw = x, so every number is known.
struct LinearCase {
  Tensor w = Tensor::from_vector(std::vector<float>{1, 1}, {2}).set_requires_grad(true);
  std::unique_ptr<optim::Optimizer> sgd = optim::make_optimizer(
      "sgd", {{{{"w", w}}, 0.0, 1.0}}, {.lr = 0.5});
  std::vector<std::vector<float>> xs;  // micro-batch inputs
  TrainStep::MicroBatchFn micro = [this](int64_t m) -> TrainStep::LossFn {
    Tensor x = Tensor::from_vector(xs.at(static_cast<size_t>(m)), {2});
    return [this, x] { return sum(mul(w, x)); };
  };
};

TEST(TrainStep, MicroBatchesAccumulateTheMeanGradientThenUpdate) {
  LinearCase c;
  c.xs = {{2, 0}, {0, 4}};  // losses 2 and 4; mean gradient (1, 2)
  GradientPipeline pipe({.grad_clip = 0.0}, {{"w", c.w}});
  TrainStep step({.accumulation = 2}, *c.sgd, pipe);
  StepResult r = step.run(0, 0.5, c.micro);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.loss, 3.0);
  EXPECT_DOUBLE_EQ(r.grad_norm, std::sqrt(5.0));
  EXPECT_EQ(c.w.to_vector<float>(), (std::vector<float>{0.5f, 0.0f}));  // w - 0.5 (1, 2)
}

TEST(TrainStep, ClippingScalesTheUpdate) {
  LinearCase c;
  c.xs = {{3, 4}};  // |g| = 5, clipped to 1: g' = (0.6, 0.8) (up to the 1e-6 of torch)
  GradientPipeline pipe({.grad_clip = 1.0}, {{"w", c.w}});
  TrainStep step({}, *c.sgd, pipe);
  step.run(0, 0.5, c.micro);
  const std::vector<float> w = c.w.to_vector<float>();
  EXPECT_NEAR(w[0], 1 - 0.5 * 0.6, 1e-6);
  EXPECT_NEAR(w[1], 1 - 0.5 * 0.8, 1e-6);
}

TEST(TrainStep, AnInjectedNanLossSkipsWithoutAnUpdate) {
  LinearCase c;
  c.xs = {{2, 0}};
  Faults faults;
  faults.nan_loss_steps = {1};
  GradientPipeline pipe({.nan_policy = NanPolicy::Skip}, {{"w", c.w}});
  TrainStep step({.faults = &faults}, *c.sgd, pipe);
  EXPECT_TRUE(step.run(0, 0.5, c.micro).applied);
  EXPECT_EQ(c.w.to_vector<float>(), (std::vector<float>{0.0f, 1.0f}));
  StepResult r = step.run(1, 0.5, c.micro);
  EXPECT_FALSE(r.applied);
  EXPECT_FALSE(r.skipped_by_scaler);
  EXPECT_NE(r.skip_reason.find("the loss is nan (micro-batch 0)"), std::string::npos) << r.skip_reason;
  EXPECT_EQ(c.w.to_vector<float>(), (std::vector<float>{0.0f, 1.0f}));  // unchanged
  EXPECT_FALSE(c.w.grad().defined());  // and no gradient left behind
  GradientPipeline stop({.nan_policy = NanPolicy::Stop}, {{"w", c.w}});
  TrainStep stopping({.faults = &faults}, *c.sgd, stop);
  EXPECT_TLM_ERROR(stopping.run(1, 0.5, c.micro), "the loss is nan", "at step 1");
}

TEST(TrainStep, ALossWithoutAGraphKeepsTheGradientsItsFunctionSet) {
  LinearCase c;
  GradientPipeline pipe({}, {{"w", c.w}});
  bool seen_before_update = false;
  TrainStep watched({.before_update = [&](const GradDecision& d) {
                       seen_before_update = true;
                       EXPECT_EQ(d.loss, 7.0);
                       EXPECT_EQ(c.w.to_vector<float>(), (std::vector<float>{1, 1}));  // not yet
                     }},
                    *c.sgd, pipe);
  StepResult r = watched.run(0, 0.5, [&](int64_t) -> TrainStep::LossFn {
    return [&] {
      c.w.set_grad(Tensor::from_vector(std::vector<float>{2, -2}, {2}));
      return Tensor::full({}, 7.0, DType::F64);  // the value to report; nothing to backpropagate
    };
  });
  EXPECT_TRUE(seen_before_update);
  EXPECT_EQ(r.loss, 7.0);
  EXPECT_EQ(c.w.to_vector<float>(), (std::vector<float>{0, 2}));
}

// ---- tlm diag grads trains on what tlm train trains on ----

using testing::log_records;

TEST(TrainStep, DiagGradsDrawsTheBatchesAndMasksTlmTrainDraws) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 80; ++i) text += "Now is the winter of our discontent made glorious summer.\n";
  testing::write_bytes(dir / "input.txt", text);
  TrainConfig cfg;
  cfg.apply_overrides({"data=" + (dir / "input.txt"), "out_dir=" + (dir / "out"), "n_layer=2",
                       "n_head=2", "n_embd=16", "block_size=16", "batch_size=3",
                       "gradient_accumulation_steps=2", "dropout=0.1", "eval_iters=0",
                       "max_iters=4", "warmup_iters=2", "log_interval=1000", "threads=1",
                       "seed=42"});
  Trainer trainer(cfg, false);
  trainer.run(nullptr);
  const std::vector<nlohmann::json> steps = log_records(dir / "out/log.jsonl", "step");
  ASSERT_EQ(steps.size(), 4u);

  const std::vector<diag::GradRecord> rows = diag::grad_increments(cfg, 4);
  for (int64_t s = 0; s < 4; ++s) {
    double loss = NAN, sq = 0;
    for (const auto& r : rows)
      if (r.step == s) loss = r.loss, sq += r.grad_norm * r.grad_norm;
    // The same initial weights, batches, dropout masks and updates: the same losses, bit for
    // bit, and the groups' gradient norms make up the trainer's global norm.
    EXPECT_EQ(loss, steps[static_cast<size_t>(s)].at("loss").get<double>()) << "step " << s;
    EXPECT_NEAR(std::sqrt(sq), steps[static_cast<size_t>(s)].at("grad_norm").get<double>(),
                1e-9 * std::sqrt(sq)) << "step " << s;
  }
  // Another seed draws other batches: the comparison above is not vacuous.
  TrainConfig other = cfg;
  other.apply_overrides({"seed=43"});
  EXPECT_NE(diag::grad_increments(other, 1).front().loss, steps[0].at("loss").get<double>());
}

}  // namespace
}  // namespace tlm::train
