// The size of a run from its config alone (train/launch/memory_estimate.h): parameter counts and
// FLOPs equal the built model's, the memory estimate is within 15 % of the measured peak, and a
// run that cannot fit is refused before it allocates.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "tests/train/test_util.h"
#include "train/launch/memory_estimate.h"
#include "train/run/trainer.h"
#include "train/sys/memory_limit.h"

namespace tlm::train {
namespace {

using testing::TempDir;

TEST(MemoryEstimate, ParamsAndFlopsEqualTheBuiltModel) {
  const std::vector<std::vector<std::string>> variants = {
      {},
      {"bias=false"},
      {"tie_weights=false"},
      {"norm=post"},
      {"norm=deepnorm", "norm_type=rmsnorm"},
      {"norm_type=rmsnorm", "bias=false"},
      {"pos=rope"},
      {"pos=none", "ffn=swiglu"},
      {"ffn=geglu", "n_embd=96", "n_head=3"},
      {"block=gau", "gau_attn_size=32"},
      {"block=gau", "gau_expansion=1.5", "bias=false", "pos=rope", "gau_attn_size=16"},
      {"pos=rope", "window=8", "layout=hwfa", "n_layer=3"},
  };
  for (const auto& v : variants) {
    TrainConfig cfg;
    cfg.apply_overrides({"n_layer=2", "n_embd=32", "n_head=4", "block_size=16"});
    cfg.apply_overrides(v);
    SCOPED_TRACE(cfg.to_json().dump());
    for (int64_t vocab : {65, 300}) {
      Rng rng(0);
      nn::GPT model(gpt_config(cfg, vocab), rng);
      const ModelSize size = model_size(cfg, vocab);
      EXPECT_EQ(size.params, model.num_parameters());
      EXPECT_EQ(size.params_non_embedding, model.num_non_embedding_parameters());
      EXPECT_DOUBLE_EQ(size.flops_per_token, model.flops_per_token());
    }
  }
}

TEST(MemoryEstimate, WithinFifteenPercentOfTheMeasuredPeak) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 400; ++i) text += "First Citizen: Before we proceed any further, hear me speak. " + std::to_string(i) + "\n";
  testing::write_bytes(dir / "input.txt", text);
  std::FILE* sink = std::fopen("/dev/null", "w");
  const std::vector<std::vector<std::string>> configs = {
      {"n_layer=1", "n_embd=64", "n_head=4", "block_size=32", "batch_size=4"},
      {"n_layer=2", "n_embd=64", "n_head=4", "block_size=64", "batch_size=8"},
      {"n_layer=2", "n_embd=128", "n_head=4", "block_size=32", "batch_size=4", "optimizer=lion"},
      {"n_layer=3", "n_embd=48", "n_head=2", "block_size=48", "batch_size=6", "ffn=swiglu"},
      {"n_layer=2", "n_embd=64", "n_head=4", "block_size=32", "batch_size=8", "precision=bf16"},
      {"n_layer=2", "n_embd=64", "n_head=4", "block_size=32", "batch_size=4", "dropout=0.1"},
      {"n_layer=2", "n_embd=64", "n_head=4", "block_size=32", "batch_size=4", "block=gau", "gau_attn_size=32"},
      {"n_layer=2", "n_embd=64", "n_head=4", "block_size=32", "batch_size=4", "tokenizer=bpe", "bpe_vocab_size=400"},
      {"n_layer=4", "n_embd=64", "n_head=4", "block_size=64", "batch_size=8", "activation_checkpointing=blocks"},
  };
  for (const auto& c : configs) {
    TrainConfig cfg;
    cfg.apply_overrides({"data=" + (dir / "input.txt"), "out_dir=" + (dir / "out"), "max_iters=3",
                         "eval_iters=1", "threads=1", "warmup_iters=1"});
    cfg.apply_overrides(c);
    SCOPED_TRACE(fmt::format("{}", fmt::join(c, " ")));
    std::filesystem::remove_all(dir / "out");
    Trainer t(cfg, false);
    EXPECT_EQ(expected_vocab(cfg, text), t.tokenizer().vocab_size());
    TrainSummary s = t.run(sink);
    const MemoryEstimate m = estimate_memory(cfg, t.tokenizer().vocab_size());
    const double ratio = static_cast<double>(m.total_bytes()) / static_cast<double>(s.peak_bytes);
    int64_t act = 0;
    for (const auto& [name, bytes] : m.parts)
      if (name == "activations") act = bytes;
    const double act_ratio = static_cast<double>(act) / static_cast<double>(s.activation_bytes);
    fmt::print("estimate {} vs peak {} ({:.3f}); activations {} vs {} ({:.3f})\n", m.total_bytes(),
               s.peak_bytes, ratio, act, s.activation_bytes, act_ratio);
    EXPECT_NEAR(ratio, 1.0, 0.15) << m.str();
    EXPECT_NEAR(act_ratio, 1.0, 0.15) << m.str();
  }
  std::fclose(sink);
}

TEST(MemoryEstimate, PartsAndRefusal) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=48", "n_embd=4096", "n_head=32", "block_size=1024"});
  const MemoryEstimate m = estimate_memory(cfg, 50304);
  const int64_t P = model_size(cfg, 50304).params;
  // 12 L C^2 + 13 L C + V C + T C + 2 C for GPT-2 layout with biases.
  const int64_t L = 48, C = 4096, V = 50304, T = 1024;
  EXPECT_EQ(P, 12 * L * C * C + 13 * L * C + V * C + T * C + 2 * C);
  std::map<std::string, int64_t> parts(m.parts.begin(), m.parts.end());
  EXPECT_EQ(parts.at("weights"), 4 * P);
  // Gradients at the peak: the embedding's (E) and the last layer's, as its activations are
  // larger than its gradients here (see the header).
  const int64_t E = 4 * (V + T) * C;
  EXPECT_EQ(parts.at("gradients"), E + (4 * P - E) / L);
  EXPECT_EQ(parts.at("optimizer state"), 8 * P);
  for (size_t i = 1; i < m.parts.size(); ++i) EXPECT_GE(m.parts[i - 1].second, m.parts[i].second);
  const std::string why = memory_refusal(m, {int64_t{8} << 30, "the cgroup memory limit 8.00 GiB"});
  for (const char* needle : {"needs about", "8.00 GiB is available", "the cgroup memory limit",
                             "optimizer state", "weights", "activations", "--force"})
    EXPECT_NE(why.find(needle), std::string::npos) << needle << "\n" << why;
  EXPECT_EQ(memory_refusal(m, {m.total_bytes(), "x"}), "");
  EXPECT_EQ(memory_refusal(m, {-1, "unknown"}), "");
  EXPECT_GT(available_memory().bytes, 0);
  // 16-bit activations save memory; more batch costs more.
  TrainConfig bf = cfg;
  bf.apply_overrides({"precision=bf16"});
  EXPECT_LT(estimate_memory(bf, V).total_bytes(), m.total_bytes());
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  // The training text and its ids, when the size is known.
  const MemoryEstimate with_data = estimate_memory(cfg, V, 1000);
  EXPECT_EQ(with_data.total_bytes(), m.total_bytes() + 5000);
  EXPECT_EQ((std::map<std::string, int64_t>(with_data.parts.begin(), with_data.parts.end()).at("data")), 5000);
}

using testing::CliRun;
CliRun tlm(const TempDir& dir, const std::string& args) { return testing::run_tlm_cli(dir, args); }

TEST(MemoryEstimate, InfoIsInstantAndTrainRefusesBeforeAllocating) {
  TempDir dir;
  const std::string big = "--set n_layer=48 --set n_embd=4096 --set n_head=32";
  auto t0 = std::chrono::steady_clock::now();
  CliRun info = tlm(dir, "info " + big);
  ASSERT_EQ(info.status, 0) << info.err;
  const auto j = nlohmann::json::parse(info.out);
  const int64_t L = 48, C = 4096, V = 65, T = 64;
  EXPECT_EQ(j.at("params"), 12 * L * C * C + 13 * L * C + V * C + T * C + 2 * C);
  EXPECT_GT(j.at("memory_estimate_bytes").get<int64_t>(), int64_t{100} << 30);
  CliRun train = tlm(dir, "train " + big + " --set out_dir=" + (dir / "out"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(train.status, 1);
  EXPECT_NE(train.err.find("tlm: error: memory: this run needs about"), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("--force"), std::string::npos) << train.err;
  EXPECT_LT(seconds, 30) << "info and the refusal must not build the 9.7B-parameter model";
  EXPECT_FALSE(std::filesystem::exists(dir / "out/log.jsonl"));
}

}  // namespace
}  // namespace tlm::train
