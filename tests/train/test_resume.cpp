// The train/ pieces together: everything a resumed run needs survives one checkpoint file, and
// the resumed run draws exactly the batches the uninterrupted run would have drawn.
#include <gtest/gtest.h>

#include "tests/train/test_util.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/data/data.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

TEST(Resume, ConfigTokenizerRngAndDataRoundTripThroughACheckpoint) {
  testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "To be, or not to be: that is the question. Ünïcödé " + std::to_string(i) + "\n";
  testing::write_bytes(dir / "input.txt", text);

  for (const char* kind : {"char", "bpe"}) {
    SCOPED_TRACE(kind);
    TrainConfig cfg;
    cfg.apply_overrides({fmt::format("tokenizer={}", kind), "bpe_vocab_size=300", "block_size=16",
                         "batch_size=3", fmt::format("data={}", dir / "input.txt")});
    const std::string corpus = read_text_file(cfg.data);
    auto tok = make_tokenizer(cfg.tokenizer, corpus, cfg.entry_values);
    Dataset data(corpus, *tok, 1.0 - cfg.val_fraction, cfg.data);
    data.check_context(cfg.block_size);
    Rng rng(static_cast<uint64_t>(cfg.seed));
    for (int step = 0; step < 5; ++step) data.sample_batch(Split::Train, cfg.batch_size, cfg.block_size, rng);

    Checkpoint ck;
    ck.meta["step"] = 5;
    ck.meta["config"] = cfg.to_json();
    ck.meta["tokenizer"] = tok->to_json();
    ck.meta["rng"] = rng_to_json(rng);
    ck.add("weights", Tensor::ones({2, 2}));
    save_checkpoint(dir / "ckpt.bin", ck);

    // The uninterrupted run continues...
    Batch expected = data.sample_batch(Split::Train, cfg.batch_size, cfg.block_size, rng);

    // ...and a fresh process resumes from the file alone.
    Checkpoint back = load_checkpoint(dir / "ckpt.bin");
    TrainConfig cfg2 = TrainConfig::from_json(back.meta.at("config"));
    EXPECT_EQ(cfg2.to_json(), cfg.to_json());
    auto tok2 = load_tokenizer(back.meta.at("tokenizer"));
    EXPECT_EQ(tok2->vocab_size(), tok->vocab_size());
    Dataset data2 = Dataset::from_file(cfg2.data, *tok2, 1.0 - cfg2.val_fraction);
    EXPECT_EQ(data2.tokens(Split::Val), data.tokens(Split::Val));
    Rng rng2(0);
    rng_from_json(back.meta.at("rng"), rng2);
    Batch got = data2.sample_batch(Split::Train, cfg2.batch_size, cfg2.block_size, rng2);
    EXPECT_EQ(got.x.to_vector<int32_t>(), expected.x.to_vector<int32_t>());
    EXPECT_EQ(got.y.to_vector<int32_t>(), expected.y.to_vector<int32_t>());
  }
}

}  // namespace
}  // namespace tlm::train
