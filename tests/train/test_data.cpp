#include "train/data/data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <set>

#include "tests/train/test_util.h"
#include "train/data/char_tokenizer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

TEST(Data, ShakespeareSplitMatchesNanoGpt) {
  const std::string path = TLM_SOURCE_DIR "/data/tinyshakespeare.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  const std::string text = read_text_file(path);
  CharTokenizer tok = CharTokenizer::build(text);
  Dataset data(text, tok, 0.9, path);
  // docs/methods.md, "Reference recipe": 1,003,854 train / 111,540 val tokens.
  EXPECT_EQ(data.size(Split::Train), 1003854);
  EXPECT_EQ(data.size(Split::Val), 111540);
  EXPECT_EQ(tok.decode(data.tokens(Split::Train)) + tok.decode(data.tokens(Split::Val)), text);
  data.check_context(256);
}

TEST(Data, BatchesAreShiftedWindowsDrawnLikeTorchGpt) {
  std::vector<int32_t> tokens(1000);
  std::iota(tokens.begin(), tokens.end(), 0);  // token value = its position
  Dataset data(tokens, 0.9);
  ASSERT_EQ(data.size(Split::Train), 900);
  ASSERT_EQ(data.size(Split::Val), 100);
  const int64_t B = 5, T = 16;
  Rng rng(1337), replay(1337);
  for (Split split : {Split::Train, Split::Val}) {
    Batch b = data.sample_batch(split, B, T, rng);
    ASSERT_EQ(b.x.dtype(), DType::I32);
    ASSERT_EQ(b.x.shape(), (Shape{B, T}));
    ASSERT_EQ(b.y.shape(), (Shape{B, T}));
    const int32_t base = split == Split::Train ? 0 : 900;
    const int32_t* x = b.x.data<int32_t>();
    const int32_t* y = b.y.data<int32_t>();
    for (int64_t r = 0; r < B; ++r) {
      // Same draws as torch.randint(len(d) - block_size): one per row, in row order.
      const auto i = static_cast<int32_t>(replay.randint(static_cast<uint64_t>(data.size(split) - T)));
      for (int64_t t = 0; t < T; ++t) {
        EXPECT_EQ(x[r * T + t], base + i + t);
        EXPECT_EQ(y[r * T + t], base + i + t + 1);
      }
    }
  }
}

TEST(Data, EveryStartIsReachableAndNoneBeyond) {
  std::vector<int32_t> tokens(20);
  std::iota(tokens.begin(), tokens.end(), 0);
  Dataset data(tokens, 0.5);  // 10 train tokens
  Rng rng(5);
  std::set<int32_t> starts;
  for (int k = 0; k < 200; ++k) starts.insert(data.sample_batch(Split::Train, 1, 6, rng).x.data<int32_t>()[0]);
  // len - block_size = 4 starts: 0..3, so the last window ends exactly at the split's end.
  EXPECT_EQ(starts, (std::set<int32_t>{0, 1, 2, 3}));
  // Exactly block_size + 1 tokens: a single possible window.
  Batch b = data.sample_batch(Split::Val, 2, 9, rng);
  EXPECT_EQ(b.x.to_vector<int32_t>()[0], 10);
  EXPECT_EQ(b.y.to_vector<int32_t>()[8], 19);
}

TEST(Data, ErrorsNameFileAndSizes) {
  TempDir dir;
  EXPECT_TLM_ERROR(read_text_file(dir / "missing.txt"), "data: cannot open", "missing.txt");
  testing::write_bytes(dir / "empty.txt", "");
  EXPECT_TLM_ERROR(read_text_file(dir / "empty.txt"), "empty.txt", "is empty");

  testing::write_bytes(dir / "short.txt", std::string(400, 'a') + "b");
  const std::string text = read_text_file(dir / "short.txt");
  CharTokenizer tok = CharTokenizer::build(text);
  Dataset data(text, tok, 0.9, dir / "short.txt");
  EXPECT_EQ(data.size(Split::Val), 41);
  EXPECT_TLM_ERROR(data.check_context(64), "data: val split of", "short.txt",
                   "has 41 tokens, fewer than block_size+1 = 65");
  Rng rng(0);
  EXPECT_TLM_ERROR(data.sample_batch(Split::Val, 2, 64, rng), "val split", "41 tokens", "= 65");
  EXPECT_TLM_ERROR(data.sample_batch(Split::Train, 0, 8, rng), "must be positive");
  EXPECT_TLM_ERROR(Dataset(std::vector<int32_t>{1, 2}, 1.0), "train fraction 1", "(0, 1)");
  EXPECT_TLM_ERROR(Dataset(std::vector<int32_t>{}, 0.9, "x.txt"), "'x.txt' has no tokens");

  // A tokenizer from elsewhere (a checkpoint) that lacks a character of this file.
  testing::write_bytes(dir / "other.txt", "abc\nabz");
  EXPECT_TLM_ERROR(Dataset::from_file(dir / "other.txt", tok, 0.9), "data: cannot tokenize",
                   "other.txt", "with the char tokenizer", "'c' (byte 0x63) at byte offset 2");
  EXPECT_EQ(Dataset::from_file(dir / "short.txt", tok, 0.9).size(Split::Train), 360);
}

}  // namespace
}  // namespace tlm::train
