// tlm tune (train/tune/tune.h): full, LoRA and LST fine-tuning through the Trainer on a tiny
// backbone: learning happens, tuned checkpoints hold only what was trained plus the backbone
// reference and reload to the same logits, resume is bit-exact, and bad input (a missing,
// corrupt, moved, changed or mismatched backbone, a reduction that does not divide the width,
// characters the backbone's tokenizer lacks) is refused with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "tests/common/expect_error.h"
#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/sys/file_io.h"
#include "train/run/faults.h"
#include "train/run/trainer.h"
#include "train/tune/tune.h"

namespace tlm::train {
namespace {

using testing::TempDir;

std::string corpus(uint64_t seed, bool extra_word) {
  const char* words[] = {"the ", "king ", "and ", "queen ", "of ", "verona ", "speak ", "thus ",
                         "my ", "lord ", "\n", "moon "};
  Rng rng(seed);
  std::string s;
  while (s.size() < 8000) s += words[rng.randint(extra_word ? 12 : 11)];
  return s;
}

// A backbone trained for a few steps on one text; the tuning text adds a word ("moon": 'm'
// is in the vocabulary, "o", "n" too) with different statistics.
struct Fixture {
  TempDir dir;
  std::string backbone, tune_text;
  Fixture() {
    testing::write_bytes(dir / "a.txt", corpus(1, false));
    testing::write_bytes(dir / "b.txt", corpus(2, true));
    TrainConfig cfg;
    cfg.apply_overrides({"data=" + (dir / "a.txt"), "out_dir=" + (dir / "bb"), "n_layer=2",
                         "n_head=2", "n_embd=16", "block_size=16", "batch_size=4", "max_iters=30",
                         "lr_decay_iters=30", "warmup_iters=2", "eval_interval=0", "eval_iters=2",
                         "learning_rate=3e-3", "threads=1"});
    Trainer t(cfg, false);
    t.run(stderr);
    backbone = dir / "bb/ckpt.bin";
    tune_text = dir / "b.txt";
  }
  TrainConfig tune(const std::string& method, std::vector<std::string> sets = {}) const {
    sets.insert(sets.begin(), {"max_iters=20", "lr_decay_iters=20", "warmup_iters=0",
                               "learning_rate=3e-3", "lst_reduction=2", "lst_fisher_samples=8", "lora_rank=2",
                               "out_dir=" + (dir / ("tune-" + method))});
    return tune_config(backbone, method, tune_text, sets);
  }
};

std::vector<float> logits_of(LoadedModel& m, const Tensor& ids) {
  NoGradGuard g;
  Rng rng(0);
  return m.forward(ids, rng).to_vector<float>();
}

TEST(Tune, EachMethodLearnsSavesOnlyWhatItTrainsAndReloads) {
  Fixture f;
  const Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 0}, {1, 8});
  for (const std::string method : {"full", "lora", "lst"}) {
    TrainConfig cfg = f.tune(method);
    Trainer t(cfg, false);
    const EvalResult before = t.evaluate(0);
    TrainSummary s = t.run(stderr);
    EXPECT_LT(s.val_loss, before.val_loss) << method;
    EXPECT_GT(s.peak_bytes, 0);
    EXPECT_GT(s.peak_rss_bytes, 0);
    // The checkpoint: the trained tensors and the backbone reference, nothing else of the model.
    Checkpoint ck = load_checkpoint(t.checkpoint_path());
    ASSERT_TRUE(ck.meta.contains("backbone")) << method;
    EXPECT_EQ(ck.meta.at("backbone").at("fnv1a64"), backbone_ref(f.backbone).fnv1a64);
    int64_t saved = 0, trained = 0;
    for (auto& [name, tensor] : ck.tensors)
      if (name.rfind("model.", 0) == 0) {
        saved += tensor.numel();
        if (method == "lora") {
          EXPECT_NE(name.find(".lora."), std::string::npos) << name;
        }
      }
    for (auto& [name, p] : trained_parameters(t.model(), t.side())) trained += p.numel();
    EXPECT_EQ(saved, trained) << method;
    EXPECT_EQ(s.trainable_params, trained);
    if (method == "full") {
      EXPECT_EQ(trained, t.model().num_parameters());
    } else {
      EXPECT_LT(trained, t.model().num_parameters() / 2) << method;
    }
    // Reloaded (as tlm eval / tlm sample do): the same logits as the trainer's model.
    LoadedModel m = load_model(t.checkpoint_path());
    EXPECT_EQ(nn::name_of(m.config.tune_method), method);
    EXPECT_EQ(m.side != nullptr, method == "lst");
    t.model().eval();
    {
      NoGradGuard g;
      Rng rng(0);
      std::vector<float> want = t.side() ? (t.side()->eval(), t.side()->forward(ids, rng).to_vector<float>())
                                         : t.model().forward(ids, rng).to_vector<float>();
      EXPECT_EQ(logits_of(m, ids), want) << method;
    }
    Rng rng(1);
    EXPECT_EQ(m.generate(Tensor::from_vector(std::vector<int32_t>{1}, {1, 1}), 5, 1.0, 0, 1.0, rng).numel(), 6);
  }
}

TEST(Tune, ResumeIsBitExact) {
  Fixture f;
  Trainer straight(f.tune("lst", {"out_dir=" + (f.dir / "s")}), false);
  straight.run(stderr);
  Trainer first(f.tune("lst", {"out_dir=" + (f.dir / "r"), "max_iters=10"}), false);
  first.run(stderr);
  Trainer second(f.tune("lst", {"out_dir=" + (f.dir / "r")}), true);
  second.run(stderr);
  auto a = straight.side()->state_dict(), b = second.side()->state_dict();
  for (auto& [name, t] : a) EXPECT_EQ(t.to_vector<float>(), b.at(name).to_vector<float>()) << name;
}

// loss of each step in a run's log.jsonl (a step logged twice, before a stop and after the
// resume, keeps its last record).
std::map<int64_t, double> step_losses(const std::string& log) {
  std::map<int64_t, double> out;
  std::istringstream lines(testing::read_bytes(log));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("kind", "") == "step") out[j.at("step").get<int64_t>()] = j.at("loss").get<double>();
  }
  return out;
}

// A tune stopped mid-run (a NaN loss at step 13 under nan_policy = stop: the checkpoint of the
// evaluation at step 10 remains, as after a crash) and resumed with no option but its
// directory: the method, its keys (lora_rank, lst_reduction), the data and the training keys
// come from the checkpoint, and the run ends with the bit-identical weights, optimizer state,
// RNG state and losses of a tune never stopped.
TEST(Tune, ResumeWithNoRepeatedOptionsTakesTheConfigFromTheCheckpointAndIsBitExact) {
  Fixture f;
  for (const std::string method : {"lora", "lst"}) {
    SCOPED_TRACE(method);
    const std::vector<std::string> keys = {"eval_interval=5", "eval_iters=2", "log_interval=1",
                                           "lora_rank=3", "lst_reduction=4", "learning_rate=2e-3"};
    auto with = [&](std::vector<std::string> sets, const std::string& out) {
      sets.insert(sets.end(), keys.begin(), keys.end());
      sets.push_back("out_dir=" + (f.dir / out));
      return f.tune(method, sets);
    };
    Trainer straight(with({}, "straight-" + method), false);
    const TrainSummary want = straight.run(nullptr);

    Trainer first(with({}, "stopped-" + method), false);
    Faults nan;
    nan.nan_loss_steps = {13};
    first.set_faults(&nan);
    EXPECT_TLM_ERROR(first.run(nullptr), "at step 13");
    const std::string dir = f.dir / ("stopped-" + method);
    ASSERT_EQ(load_checkpoint(dir + "/ckpt.bin").meta.at("step"), 10);

    const TrainConfig cfg = tune_resume_config("", "", "", {"out_dir=" + dir});
    EXPECT_EQ(nn::name_of(cfg.tune_method), method);
    EXPECT_EQ(cfg.lora_rank, 3);
    EXPECT_EQ(cfg.lst_reduction, 4);
    EXPECT_EQ(cfg.max_iters, 20);
    EXPECT_EQ(cfg.data, f.tune_text);
    EXPECT_EQ(cfg.backbone, backbone_ref(f.backbone).path);
    EXPECT_EQ(cfg.out_dir, dir);
    Trainer second(cfg, true);
    EXPECT_EQ(second.step(), 10);
    const TrainSummary got = second.run(nullptr);

    EXPECT_EQ(got.iters, 20);
    EXPECT_EQ(got.train_loss, want.train_loss);
    EXPECT_EQ(got.val_loss, want.val_loss);
    EXPECT_EQ(step_losses(dir + "/log.jsonl"), step_losses(f.dir / ("straight-" + method + "/log.jsonl")));
    Checkpoint a = load_checkpoint(straight.checkpoint_path()), b = load_checkpoint(second.checkpoint_path());
    EXPECT_EQ(a.meta.at("rng"), b.meta.at("rng"));
    a.meta["config"].erase("out_dir");
    b.meta["config"].erase("out_dir");
    EXPECT_EQ(a.meta.at("config"), b.meta.at("config"));
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      SCOPED_TRACE(a.tensors[i].first);
      ASSERT_EQ(a.tensors[i].first, b.tensors[i].first);  // model.* (trained) and optim.*
      EXPECT_EQ(a.tensors[i].second.to_vector<float>(), b.tensors[i].second.to_vector<float>());
    }
  }
}

TEST(Tune, ResumeRefusesChangingWhatDefinesTheRunNamingTheKey) {
  Fixture f;
  // The default out_dir, <backbone dir>/tune-lora.
  Trainer t(tune_config(f.backbone, "lora", f.tune_text, {"max_iters=2", "lora_rank=3", "eval_iters=1"}), false);
  t.run(nullptr);
  const std::string out = f.dir / "bb/tune-lora";
  ASSERT_EQ(t.checkpoint_path(), out + "/ckpt.bin");
  // Keys a resume may change are taken; the checkpoint's others stay.
  TrainConfig more = tune_resume_config("", "", "", {"out_dir=" + out, "max_iters=4", "learning_rate=1e-3"});
  EXPECT_EQ(more.max_iters, 4);
  EXPECT_EQ(more.learning_rate, 1e-3);
  EXPECT_EQ(more.lora_rank, 3);
  // --ckpt and --method equal to the checkpoint's are fine, and name the default out_dir.
  EXPECT_EQ(tune_resume_config(f.backbone, "lora", "", {}).out_dir, out);
  EXPECT_EQ(tune_resume_config(f.backbone, "lora", f.tune_text, {"out_dir=" + out}).lora_rank, 3);
  // Everything else is refused by name, all at once.
  EXPECT_TLM_ERROR(tune_resume_config("", "", "", {"out_dir=" + out, "lora_rank=4", "n_layer=3"}),
                   "cannot change lora_rank (3 -> 4), n_layer (2 -> 3) on resume");
  EXPECT_TLM_ERROR(tune_resume_config(f.backbone, "lst", "", {"out_dir=" + out}),
                   "cannot change tune_method (\"lora\" -> \"lst\")");
  EXPECT_TLM_ERROR(tune_resume_config("", "", f.dir / "a.txt", {"out_dir=" + out}), "cannot change data");
  testing::write_bytes(f.dir / "other.bin", read_file(f.backbone, "test"));
  EXPECT_TLM_ERROR(tune_resume_config(f.dir / "other.bin", "", "", {"out_dir=" + out}), "cannot change backbone");
  // No run named, no run there, a training run.
  EXPECT_TLM_ERROR(tune_resume_config("", "", "", {}), "which run? Name its directory");
  EXPECT_TLM_ERROR(tune_resume_config("", "", "", {"out_dir=" + (f.dir / "nothing")}), "ckpt.bin");
  EXPECT_TLM_ERROR(tune_resume_config("", "", "", {"out_dir=" + (f.dir / "bb")}),
                   "is a tlm train checkpoint (tune_method = none)");
}

TEST(Tune, MissingCorruptMovedAndChangedBackbonesAreRefused) {
  Fixture f;
  EXPECT_TLM_ERROR(tune_config(f.dir / "nope.bin", "lst", "", {}), "does not exist");
  testing::write_bytes(f.dir / "junk.bin", "this is not a checkpoint at all, just some bytes....");
  EXPECT_TLM_ERROR(tune_config(f.dir / "junk.bin", "lst", "", {}), "cannot use");
  EXPECT_TLM_ERROR(tune_config(f.backbone, "adapter", "", {}), "not one of lst, lora, full");
  EXPECT_TLM_ERROR(tune_config(f.backbone, "none", "", {}), "--method 'none' is not one of lst, lora, full");

  Trainer t(f.tune("lst", {"max_iters=2"}), false);
  t.run(stderr);
  const std::string tuned = t.checkpoint_path();
  // A tuned checkpoint is not a backbone.
  EXPECT_TLM_ERROR(Trainer(tune_config(tuned, "lora", f.tune_text, {"out_dir=" + (f.dir / "x")}), false),
                        "is itself a fine-tuned checkpoint");
  // Moved: the reference no longer resolves.
  std::filesystem::rename(f.backbone, f.dir / "moved.bin");
  EXPECT_TLM_ERROR(load_model(tuned), "is missing (moved or deleted?)");
  // Changed: a different file at the same path (one byte of a tensor flipped, checksum redone).
  Checkpoint ck = load_checkpoint(f.dir / "moved.bin");
  {
    NoGradGuard g;
    Tensor w = ck.tensors.front().second;
    w.copy_from(add(w, 1.0));
  }
  save_checkpoint(f.backbone, ck);
  EXPECT_TLM_ERROR(load_model(tuned), "has changed since tuning");
  // Corrupt in place: refused with the checkpoint reader's reason.
  std::filesystem::copy_file(f.dir / "moved.bin", f.backbone, std::filesystem::copy_options::overwrite_existing);
  EXPECT_NO_THROW(load_model(tuned));
  std::string bytes = read_file(f.backbone, "test");
  bytes[bytes.size() / 2] ^= 0x5a;
  testing::write_bytes(f.backbone, bytes);
  EXPECT_TLM_ERROR(load_model(tuned), "has changed since tuning");
  EXPECT_TLM_ERROR(load_backbone(f.backbone), "checksum");
}

TEST(Tune, BackboneConfigMismatchesAreRefusedNamingTheKey) {
  Fixture f;
  // The tuning config asks for another network than the backbone's.
  EXPECT_TLM_ERROR(Trainer(f.tune("lst", {"n_head=4"}), false), "n_head = 4, but the backbone");
  // A tuned checkpoint whose recorded config no longer matches its backbone.
  Trainer t(f.tune("lst", {"max_iters=2"}), false);
  t.run(stderr);
  Checkpoint ck = load_checkpoint(t.checkpoint_path());
  ck.meta["config"]["n_head"] = 4;
  save_checkpoint(f.dir / "edited.bin", ck);
  EXPECT_TLM_ERROR(load_model(f.dir / "edited.bin"), "n_head = 4, but the backbone");
  // Trained tensors that do not fit the side network built from the config.
  ck = load_checkpoint(t.checkpoint_path());
  ck.meta["config"]["lst_reduction"] = 4;
  save_checkpoint(f.dir / "edited.bin", ck);
  EXPECT_TLM_ERROR(load_model(f.dir / "edited.bin"), "in the checkpoint but");
}

TEST(Tune, ReductionThatDoesNotDivideTheWidthIsRefused) {
  Fixture f;
  EXPECT_TLM_ERROR(f.tune("lst", {"lst_reduction=3"}),
                        "lst_reduction = 3 does not divide n_embd = 16");
  // Divides the width but not the head size (16 / 2 heads = 8).
  EXPECT_TLM_ERROR(Trainer(f.tune("lst", {"lst_reduction=16"}), false),
                        "lst_reduction: 16 does not divide the backbone head size");
}

TEST(Tune, CharactersTheBackboneLacksAreRefusedOrReplaced) {
  Fixture f;
  testing::write_bytes(f.dir / "c.txt", corpus(3, true) + "Zebra (42)\n");
  EXPECT_TLM_ERROR(Trainer(f.tune("lora", {"data=" + (f.dir / "c.txt")}), false),
                        "does not have; set unseen_chars = replace");
  LoadedModel bb = load_backbone(f.backbone);
  TrainConfig cfg = f.tune("lora", {"unseen_chars=replace"});
  int64_t replaced = 0;
  const std::string text = encodable_text("the Zebra (42)", *bb.tokenizer, cfg, "x", &replaced);
  EXPECT_EQ(text, "the  e ra     ");
  EXPECT_EQ(replaced, 6);
  cfg.apply_overrides({"unseen_replacement=the"});
  EXPECT_TLM_ERROR(encodable_text("Zebra", *bb.tokenizer, cfg, "x"), "it must be one");
  Trainer ok(f.tune("lora", {"data=" + (f.dir / "c.txt"), "unseen_chars=replace", "max_iters=1"}), false);
  EXPECT_EQ(ok.step(), 0);
}

}  // namespace
}  // namespace tlm::train
