// The trainer with each LM loss of nn::lm_loss: the step-0 value is the loss asked for (on the
// same init and batch), evaluation stays plain cross-entropy, and loss = emo keeps its frozen
// cost embedding in the checkpoint so that 2 steps + resume + 2 steps = 4 straight steps.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "nn/loss/registry.h"
#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

struct DevNull {
  std::FILE* f = std::fopen("/dev/null", "w");
  ~DevNull() { std::fclose(f); }
};

TrainConfig tiny(const testing::TempDir& dir, const std::string& loss, int64_t iters) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=1", "n_head=2", "n_embd=16", "block_size=16", "batch_size=4",
                       fmt::format("max_iters={}", iters), "eval_iters=2", "eval_interval=1000",
                       "threads=1", "warmup_iters=0", fmt::format("loss={}", loss),
                       fmt::format("data={}", dir / "input.txt"),
                       fmt::format("out_dir={}", dir / loss)});
  return cfg;
}

double first_step_loss(const std::string& path) {
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.at("kind") == "step") return j.at("loss").get<double>();
  }
  return NAN;
}

TEST(TrainerLosses, EveryLmLossTrainsAndEvaluationStaysCrossEntropy) {
  testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "Now is the winter of our discontent, made glorious summer.\n";
  testing::write_bytes(dir / "input.txt", text);
  DevNull null;
  std::map<std::string, double> step0;
  for (const std::string& name : nn::lm_loss_names()) {
    SCOPED_TRACE(name);
    Trainer t(tiny(dir, name, 3), false);
    // Step-0 evaluation = plain CE of the same initial model, for every loss.
    const double ce0 = t.evaluate(0).val_loss;
    if (!step0.empty()) {
      EXPECT_DOUBLE_EQ(ce0, step0["eval"]);
    }
    step0["eval"] = ce0;
    TrainSummary s = t.run(null.f);
    EXPECT_EQ(s.iters, 3);
    EXPECT_TRUE(std::isfinite(s.val_loss));
    step0[name] = first_step_loss(dir / name + "/log.jsonl");
  }
  // Same init and batch at step 0: focal (1-p)^2 < 1 scales CE down; smoothing moves it;
  // EMO's two terms are equal in value (1/2 (ce + sg(ce/emo) emo) = ce); TaiLr with gamma =
  // 1e-7 is CE to ~1e-7 relative.
  EXPECT_LT(step0["focal"], step0["ce"]);
  EXPECT_NE(step0["label_smoothing"], step0["ce"]);
  EXPECT_NEAR(step0["emo"], step0["ce"], 1e-5);
  EXPECT_NEAR(step0["tailr"], step0["ce"], 1e-4);
}

TEST(TrainerLosses, EmoCostEmbeddingIsFrozenSavedAndResumedExactly) {
  testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "Now is the winter of our discontent, made glorious summer.\n";
  testing::write_bytes(dir / "input.txt", text);
  DevNull null;

  TrainConfig straight = tiny(dir, "emo", 4);
  straight.out_dir = dir / "straight";
  Trainer a(straight, false);
  const std::vector<float> wte0 = a.model().wte.weight.to_vector<float>();
  ASSERT_TRUE(a.emo_embedding().defined());
  EXPECT_EQ(a.emo_embedding().to_vector<float>(), wte0);  // tied: the LM head is wte
  a.run(null.f);
  EXPECT_EQ(a.emo_embedding().to_vector<float>(), wte0);  // frozen
  EXPECT_NE(a.model().wte.weight.to_vector<float>(), wte0);

  TrainConfig half = tiny(dir, "emo", 2);
  half.out_dir = dir / "resumed";
  Trainer(half, false).run(null.f);
  Checkpoint ck = load_checkpoint(dir / "resumed/ckpt.bin");
  bool found = false;
  for (auto& [name, t] : ck.tensors)
    if (name == "emo.cost_embedding") {
      found = true;
      EXPECT_EQ(t.to_vector<float>(), wte0);
    }
  EXPECT_TRUE(found);
  half.max_iters = 4;
  Trainer b(half, true);
  EXPECT_EQ(b.emo_embedding().to_vector<float>(), wte0);  // from the checkpoint, not wte at step 2
  b.run(null.f);
  auto pa = a.model().named_parameters(), pb = b.model().named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(pa[i].second.to_vector<float>(), pb[i].second.to_vector<float>()) << pa[i].first;
}

TEST(TrainerLosses, OnlyALossWhoseEntryNeedsItGetsACostEmbedding) {
  // The trainer asks the loss's entry (nn::LossType::needs_cost_embedding), not its name.
  for (const nn::LossType& t : nn::loss_registry().entries())
    EXPECT_EQ(t.needs_cost_embedding, t.name == "emo") << t.name;
  testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 20; ++i) text += "Now is the winter of our discontent.\n";
  testing::write_bytes(dir / "input.txt", text);
  TrainConfig cfg = tiny(dir, "focal", 1);
  cfg.out_dir = dir / "focal";
  EXPECT_FALSE(Trainer(cfg, false).emo_embedding().defined());
}

TEST(TrainerLosses, ConfigListsExactlyTheRegisteredLosses) {
  const ConfigKey* k = find_config_key("loss");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->choices, nn::lm_loss_names());
  TrainConfig cfg;
  try {
    cfg.set("loss", "hinge");
    FAIL() << "no error";
  } catch (const tlm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("allowed: ce, label_smoothing, focal, tailr, emo"),
              std::string::npos) << e.what();
  }
  // The selected loss's keys, at the config's values (the defaults, or what was set).
  EXPECT_TRUE(lm_loss_options(cfg).keys.items().empty());  // ce has none
  cfg.apply_overrides({"loss=focal", "focal_alpha=0.25"});
  EXPECT_EQ(lm_loss_options(cfg).keys.number("focal_gamma"), 2.0);
  EXPECT_EQ(lm_loss_options(cfg).keys.number("focal_alpha"), 0.25);
  EXPECT_EQ(lm_loss_options(cfg).keys.items().size(), 2u);
  cfg.apply_overrides({"loss=emo"});
  EXPECT_EQ(lm_loss_options(cfg).keys.number("emo_max_weight"), 0.0);  // 0: no cap (emo.cpp)
}

}  // namespace
}  // namespace tlm::train
