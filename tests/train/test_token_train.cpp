// Training from a prepared token directory (data = DIR): the same run as from the text, exact
// resume with the files checked, and a resident set that does not grow with the corpus.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "tests/train/gpt2_files.h"
#include "tests/train/test_util.h"
#include "train/data/gpt2_tokenizer.h"
#include "train/data/token_file.h"
#include "train/data/prepare.h"
#include "train/data/token_dir.h"
#include "train/io/checkpoint.h"
#include "train/sys/file_io.h"
#include "train/data/tokenizer.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

std::string corpus() {
  return read_text_file(TLM_SOURCE_DIR "/data/tinyshakespeare.txt").substr(0, 60000);
}

TrainConfig tiny(const std::string& data, const std::string& out) {
  TrainConfig cfg;
  cfg.apply_overrides({"data=" + data, "out_dir=" + out, "tokenizer=bpe", "bpe_vocab_size=300",
                       "n_layer=1", "n_head=2", "n_embd=16", "block_size=16", "batch_size=4",
                       "max_iters=8", "lr_decay_iters=8", "warmup_iters=2", "eval_interval=4",
                       "eval_iters=2", "dropout=0.1", "threads=1"});
  return cfg;
}

std::string prepare(const TempDir& dir, const std::string& text_file, const std::string& name) {
  PrepareOptions o;
  o.inputs = {text_file};
  o.tokenizer = "bpe";
  o.tokenizer_keys.set("bpe_vocab_size", int64_t{300});
  o.out = dir / name;
  o.val_fraction = 0.1;  // the config's default
  prepare_tokens(o);
  return o.out;
}

std::map<std::string, std::vector<float>> weights(nn::GPT& m) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [name, t] : m.named_parameters()) out[name] = t.to_vector<float>();
  return out;
}

TEST(TokenTrain, APreparedDirectoryTrainsExactlyLikeItsText) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  const std::string prepared = prepare(dir, dir / "text.txt", "prep");
  Trainer from_text(tiny(dir / "text.txt", dir / "run_text"), false);
  Trainer from_dir(tiny(prepared, dir / "run_dir"), false);
  EXPECT_TRUE(from_dir.dataset().mapped());
  EXPECT_EQ(from_dir.tokenizer().to_json(), from_text.tokenizer().to_json());
  TrainSummary a = from_text.run(nullptr), b = from_dir.run(nullptr);
  EXPECT_EQ(a.train_loss, b.train_loss);
  EXPECT_EQ(a.val_loss, b.val_loss);
  auto wa = weights(from_text.model()), wb = weights(from_dir.model());
  for (auto& [name, v] : wa) EXPECT_EQ(v, wb.at(name)) << name;
  // eval and the checkpoint read the directory too.
  const nlohmann::json meta = load_checkpoint(dir / "run_dir/ckpt.bin").meta;
  EXPECT_EQ(meta.at("data_files").at("dir"), prepared);
  EXPECT_EQ(meta.at("data_files").at("val.bin").at("crc32"),
            crc32_hex(crc32(testing::read_bytes(prepared + "/val.bin"))));
}

TEST(TokenTrain, ResumeIsExactAndRefusesChangedFiles) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  const std::string prepared = prepare(dir, dir / "text.txt", "prep");
  Trainer straight(tiny(prepared, dir / "straight"), false);
  straight.run(nullptr);
  TrainConfig half = tiny(prepared, dir / "split");
  half.apply_overrides({"max_iters=4"});
  {
    Trainer first(half, false);
    first.run(nullptr);
  }
  half.apply_overrides({"max_iters=8"});
  {
    Trainer second(half, true);
    EXPECT_EQ(second.step(), 4);
    second.run(nullptr);
    auto wa = weights(straight.model()), wb = weights(second.model());
    for (auto& [name, v] : wa) EXPECT_EQ(v, wb.at(name)) << name;
  }
  // val.bin re-written (another prepare: meta.json agrees with the new file) after the checkpoint.
  std::string val = testing::read_bytes(prepared + "/val.bin");
  size_t k = 2;  // the first id that differs from id 0; the two swap places
  while (k + 1 < val.size() && val.compare(k, 2, val, 0, 2) == 0) k += 2;
  std::swap_ranges(val.begin(), val.begin() + 2, val.begin() + static_cast<std::ptrdiff_t>(k));
  ASSERT_NE(val, testing::read_bytes(prepared + "/val.bin"));
  testing::write_bytes(prepared + "/val.bin", val);
  auto meta = nlohmann::json::parse(testing::read_bytes(prepared + "/meta.json"));
  meta["files"]["val.bin"]["crc32"] = crc32_hex(crc32(val));
  testing::write_bytes(prepared + "/meta.json", meta.dump());
  half.apply_overrides({"max_iters=12"});
  EXPECT_TLM_ERROR(Trainer(half, true), "resume:", "val.bin", "changed since");
  // A text-trained checkpoint is not resumed on a directory.
  TrainConfig text_run = tiny(dir / "text.txt", dir / "text_run");
  text_run.apply_overrides({"max_iters=2"});
  Trainer(text_run, false).run(nullptr);
  TrainConfig switched = tiny(prepared, dir / "text_run");
  EXPECT_TLM_ERROR(Trainer(switched, true), "resume:", "not trained on a prepared token directory");
}

// Runs the tlm binary; returns the last line of its stdout (the JSON summary).
std::string run_tlm(const std::string& args, const TempDir& dir) {
  const std::string out = dir / "stdout.txt";
  const std::string cmd = std::string(TLM_BINARY_DIR) + "/tlm " + args + " > " + out + " 2> " +
                          (dir / "stderr.txt");
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << testing::read_bytes(dir / "stderr.txt");
  std::istringstream lines(testing::read_bytes(out));
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  return last;
}

TEST(TokenTrain, TheCliPreparesTrainsAndEvaluatesADirectory) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  const std::string d = dir.path().string();
  const nlohmann::json p = nlohmann::json::parse(
      run_tlm(fmt::format("prepare --data {0}/text.txt --tokenizer bpe --bpe_vocab_size 300 --out {0}/tok", d), dir));
  EXPECT_EQ(p.at("tokenizer"), "bpe");
  EXPECT_EQ(p.at("bytes"), corpus().size());
  EXPECT_GT(p.at("encode_cpu_seconds").get<double>(), 0.0);
  run_tlm(fmt::format("train --set data={0}/tok --set tokenizer=bpe --set bpe_vocab_size=300 "
                      "--set out_dir={0}/run --set max_iters=2 --set n_layer=1 --set n_embd=16 "
                      "--set n_head=2 --set block_size=16 --set batch_size=2 --set eval_iters=1", d), dir);
  const nlohmann::json e = nlohmann::json::parse(run_tlm(fmt::format("eval --ckpt {}/run/ckpt.bin --json --max_tokens 200", d), dir));
  EXPECT_EQ(e.at("source"), d + "/tok (val.bin)");
  EXPECT_GT(e.at("tokens").get<int64_t>(), 100);
  EXPECT_TRUE(std::isfinite(e.at("loss").get<double>()));
  // A second prepare into the same directory is refused, and nothing there changes.
  const std::string before = testing::read_bytes(d + "/tok/train.bin");
  const std::string cmd = fmt::format("{}/tlm prepare --data {}/text.txt --out {}/tok > /dev/null 2> {}/err.txt",
                                      TLM_BINARY_DIR, d, d, d);
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(testing::read_bytes(d + "/err.txt").find("already holds"), std::string::npos);
  EXPECT_EQ(testing::read_bytes(d + "/tok/train.bin"), before);
}

// tlm prepare's tokenizer options are the tokenizer kinds' keys: listed with their help and
// default, and checked against the key's range before any file is written.
TEST(TokenTrain, PrepareTakesTheTokenizerKeysFromTheRegistry) {
  TempDir dir;
  testing::write_bytes(dir / "text.txt", corpus());
  const testing::CliRun help = testing::run_tlm_cli(dir, "prepare --help");
  EXPECT_EQ(help.status, 0);
  for (const nn::EntryKey& k : nn::entry_keys(tokenizer_registry())) {
    EXPECT_NE(help.out.find("--" + k.name), std::string::npos) << k.name;
    EXPECT_NE(help.out.find(k.help.substr(0, 20)), std::string::npos) << k.name;
  }
  const std::string d = dir.path().string();
  const testing::CliRun bad = testing::run_tlm_cli(
      dir, fmt::format("prepare --data {0}/text.txt --tokenizer bpe --bpe_vocab_size 100 --out {0}/tok", d));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("bpe_vocab_size = '100' is out of range"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(d + "/tok/train.bin"));
  // Without the option the key's default (512) applies, as the config's.
  const testing::CliRun ok = testing::run_tlm_cli(dir, fmt::format("prepare --data {0}/text.txt --out {0}/tok2", d));
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(testing::read_bytes(d + "/tok2/meta.json")).at("bpe_vocab_size"), 512);
}

TEST(TokenTrain, ANanoGptDirectoryOfGpt2IdsTrainsWithTheGpt2Tokenizer) {
  // What nanoGPT's data/shakespeare/prepare.py writes: train.bin and val.bin of uint16 GPT-2
  // ids, no meta.json. With tokenizer = gpt2 and tokenizer_dir set, tlm trains on them as they
  // are (memory-mapped, not re-tokenised) and its checkpoint carries GPT-2's tokenizer.
  const std::string vocab = testing::gpt2_vocab_dir();
  if (vocab.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  TempDir dir;
  const Gpt2Tokenizer gpt2 = Gpt2Tokenizer::from_dir(vocab);
  const std::string text = corpus();
  const std::vector<int32_t> ids = gpt2.encode(text);
  const size_t n_train = ids.size() * 9 / 10;
  std::filesystem::create_directories(dir / "nanogpt");
  for (auto [name, from, to] : {std::tuple{"train.bin", size_t{0}, n_train},
                                std::tuple{"val.bin", n_train, ids.size()}}) {
    TokenFileWriter w(dir / (std::string("nanogpt/") + name), TokenDType::U16, "test");
    w.write(std::span<const int32_t>(ids.data() + from, to - from));
    w.commit();
  }
  TrainConfig cfg = tiny(dir / "nanogpt", dir / "run");
  cfg.apply_overrides({"tokenizer=gpt2", "tokenizer_dir=" + vocab, "max_iters=2", "eval_interval=2"});
  Trainer t(cfg, false);
  EXPECT_TRUE(t.dataset().mapped());
  EXPECT_EQ(t.tokenizer().name(), "gpt2");
  EXPECT_EQ(t.model().config().vocab_size, 50257);
  EXPECT_EQ(t.dataset().size(Split::Train), static_cast<int64_t>(n_train));
  EXPECT_EQ(t.dataset().read(Split::Val, 0, 8),
            std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(n_train),
                                 ids.begin() + static_cast<std::ptrdiff_t>(n_train) + 8));
  const TrainSummary s = t.run(nullptr);
  EXPECT_TRUE(std::isfinite(s.val_loss));
  EXPECT_LT(s.val_loss, std::log(50257.0) + 0.5);
  const auto ckpt_tok = load_tokenizer(load_checkpoint(dir / "run/ckpt.bin").meta.at("tokenizer"));
  EXPECT_EQ(ckpt_tok->encode(text.substr(0, 500)), gpt2.encode(text.substr(0, 500)));
}

TEST(TokenTrain, PeakRssDoesNotGrowWithTheCorpus) {
  // A 55 MB corpus and a 1 MB one, prepared by `tlm prepare` and trained a few steps by
  // `tlm train` in processes of their own: the peak resident sets differ by well under 32 MB.
  TempDir dir;
  const std::string text = read_text_file(TLM_SOURCE_DIR "/data/tinyshakespeare.txt");
  {
    std::string big;
    big.reserve(50 * text.size());
    for (int i = 0; i < 50; ++i) big += text;
    testing::write_bytes(dir / "big.txt", big);
  }
  testing::write_bytes(dir / "small.txt", text);
  std::map<std::string, int64_t> rss;
  for (const char* name : {"small", "big"}) {
    const nlohmann::json p = nlohmann::json::parse(
        run_tlm(fmt::format("prepare --data {}/{}.txt --tokenizer char --out {}/{}_tok --threads 2",
                            dir.path().string(), name, dir.path().string(), name), dir));
    EXPECT_GE(p.at("bytes").get<int64_t>(), std::string(name) == "big" ? 50'000'000 : 1'000'000);
    const nlohmann::json t = nlohmann::json::parse(run_tlm(
        fmt::format("train --set data={0}/{1}_tok --set out_dir={0}/{1}_run --set max_iters=3 "
                    "--set eval_interval=0 --set eval_iters=2 --set n_layer=2 --set n_embd=64 "
                    "--set n_head=2 --set block_size=64 --set batch_size=8 --set threads=1",
                    dir.path().string(), name), dir));
    rss[name] = t.at("peak_rss_bytes").get<int64_t>();
    ASSERT_GT(rss[name], 0);
  }
  EXPECT_LT(std::llabs(rss["big"] - rss["small"]), 32ll << 20)
      << "small " << rss["small"] << " big " << rss["big"];
  RecordProperty("peak_rss_small", std::to_string(rss["small"]));
  RecordProperty("peak_rss_big", std::to_string(rss["big"]));
}

}  // namespace
}  // namespace tlm::train
