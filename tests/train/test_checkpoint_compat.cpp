// Checkpoints written before the Block interface (nn/block.h; one vector of blocks in GPT
// instead of one per block type) still load under the same parameter names (h.i.*) and give
// the logits that code computed. The fixtures and how they were made: tests/train/fixtures/.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "train/run/trainer.h"

namespace tlm::train {
namespace {

std::vector<double> golden_logits(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::string line;
  std::vector<double> v;
  while (std::getline(f, line))
    if (!line.empty() && line[0] != '#') v.push_back(std::stod(line));
  return v;
}

void expect_same_logits(const std::string& name, const std::string& block) {
  const std::string dir = std::string(TLM_SOURCE_DIR) + "/tests/train/fixtures/";
  LoadedModel m = load_model(dir + "ckpt_" + name + ".bin");
  EXPECT_EQ(m.config.block, block);
  const int64_t V = m.tokenizer->vocab_size();
  std::vector<int32_t> ids;
  for (int i = 0; i < 16; ++i) ids.push_back(static_cast<int32_t>((i * 7 + 3) % V));
  Rng rng(0);
  const std::vector<double> got = m.forward(Tensor::from_vector(ids, {2, 8}), rng).to_vector<double>();
  const std::vector<double> want = golden_logits(dir + "logits_" + name + ".txt");
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(want.size(), static_cast<size_t>(2 * 8 * V));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-6 + 1e-6 * std::abs(want[i])) << name << " logit " << i;
}

TEST(CheckpointCompat, TransformerCheckpointOfTheOldLayoutGivesTheSameLogits) {
  expect_same_logits("transformer", "transformer");
}

TEST(CheckpointCompat, GauCheckpointOfTheOldLayoutGivesTheSameLogits) {
  expect_same_logits("gau", "gau");
}

// Written when GAU's keys were fields of TrainConfig and GPTConfig (before they were keys of
// the gau entry, nn/gau.h): gau_expansion = 1.5 and gau_attn_size = 8 come back as the entry's
// values and build the same shapes (e = 1.5 * 16 = 24, s = 8).
TEST(CheckpointCompat, GauCheckpointWithItsKeysSetGivesTheSameLogits) {
  expect_same_logits("gau_keys", "gau");
  LoadedModel m = load_model(std::string(TLM_SOURCE_DIR) + "/tests/train/fixtures/ckpt_gau_keys.bin");
  EXPECT_EQ(m.config.number("gau_expansion"), 1.5);
  EXPECT_EQ(m.config.integer("gau_attn_size"), 8);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, p] : m.model->named_parameters()) shapes[name] = p.shape();
  EXPECT_EQ(shapes["h.0.gau.o_dense.weight"], (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(shapes["h.0.gau.i_dense.weight"], (std::vector<int64_t>{2 * 24 + 8, 16}));
}

}  // namespace
}  // namespace tlm::train
