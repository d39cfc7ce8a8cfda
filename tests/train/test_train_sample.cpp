// `tlm train --sample N`: the sample printed after training is drawn from its own random stream,
// derive_seed(seed, Stream::Sample) (train/run/seeds.h), not from the raw seed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/train/test_util.h"
#include "train/run/seeds.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

// The sample `model` generates after a newline, with `rng` (as train/cli/main.cpp draws it).
std::string sample(LoadedModel& m, Rng rng, int64_t n) {
  Tensor prompt = Tensor::from_vector(std::vector<int32_t>{m.tokenizer->encode("\n").front()}, {1, 1});
  return m.tokenizer->decode(m.generate(prompt, n, 0.8, 0, 1.0, rng).to_vector<int32_t>());
}

TEST(TrainSample, DrawsFromTheSampleStream) {
  TempDir dir;
  const std::string run = dir / "run";
  const std::string cmd = std::string(TLM_BINARY_DIR) +
                          "/tlm train --sample 40 --set n_layer=1 --set n_head=2 --set n_embd=16 "
                          "--set block_size=16 --set batch_size=2 --set max_iters=2 --set eval_iters=1 "
                          "--set threads=1 --set seed=7 --set out_dir=" + run + " > " + (dir / "out.txt") +
                          " 2> " + (dir / "err.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << testing::read_bytes(dir / "err.txt");
  const std::string err = testing::read_bytes(dir / "err.txt");
  const std::string head = "\n---- sample ----\n", tail = "\n----------------\n";
  const size_t a = err.find(head);
  ASSERT_NE(a, std::string::npos) << err;
  const size_t b = err.find(tail, a + head.size());
  ASSERT_NE(b, std::string::npos) << err;
  const std::string printed = err.substr(a + head.size(), b - a - head.size());

  LoadedModel m = load_model(run + "/ckpt.bin");  // the final checkpoint = the trained model
  EXPECT_EQ(printed, sample(m, Rng(derive_seed(7, Stream::Sample)), 40));
  EXPECT_NE(printed, sample(m, Rng(7), 40));  // not the raw seed's stream
}

}  // namespace
}  // namespace tlm::train
