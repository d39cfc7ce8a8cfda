// `tlm sample --num_samples N` and `--prompt_file FILE` (train/cli/main.cpp), run as a user runs
// them: sample i of N is the single sample of its seed (sample_seed, train/run/seeds.h), the
// samples differ, a prompt file gives what the same text via --prompt gives, and a missing,
// unreadable, empty or non-UTF-8 prompt file, or both prompts at once, is refused with the reason.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/train/test_util.h"
#include "train/run/seeds.h"

namespace tlm::train {
namespace {

using testing::TempDir;

using testing::CliRun;
CliRun tlm(const TempDir& dir, const std::string& args) { return testing::run_tlm_cli(dir, args); }

// A checkpoint of the char model trained on the built-in corpus (tests/train/fixtures/README.md).
const std::string kCkpt = std::string(TLM_SOURCE_DIR) + "/tests/train/fixtures/ckpt_transformer.bin";
const std::string kSampling = " --length 40 --temperature 1.0 --top_k 0";

TEST(SampleCli, SampleIOfNIsTheSingleSampleOfItsSeed) {
  TempDir dir;
  CliRun many = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --prompt 'the ' --seed 7 --num_samples 3");
  ASSERT_EQ(many.status, 0) << many.err;
  // Three samples, each followed by the separator line.
  std::vector<std::string> samples;
  std::string current;
  std::istringstream lines(many.out);
  for (std::string line; std::getline(lines, line);) {
    if (line == "---------------") {
      samples.push_back(current);
      current.clear();
    } else {
      current += line + "\n";
    }
  }
  EXPECT_EQ(current, "") << "text after the last separator";
  ASSERT_EQ(samples.size(), 3u) << many.out;
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t seed = sample_seed(7, i);
    EXPECT_NE(many.err.find(fmt::format("sample {} of 3: --seed {}", i + 1, seed)), std::string::npos) << many.err;
    CliRun one = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --prompt 'the ' --seed " + std::to_string(seed));
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(samples[static_cast<size_t>(i)], one.out) << "sample " << i;
    EXPECT_EQ(samples[static_cast<size_t>(i)].rfind("the ", 0), 0u) << "continues the prompt";
  }
  EXPECT_EQ(sample_seed(7, 0), 7) << "sample 0 is the seed itself";
  EXPECT_NE(samples[0], samples[1]);
  EXPECT_NE(samples[1], samples[2]);
  // One sample: no separator, the output of before --num_samples existed.
  CliRun single = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --prompt 'the ' --seed 7 --num_samples 1");
  ASSERT_EQ(single.status, 0) << single.err;
  EXPECT_EQ(single.out, samples[0]);
  CliRun zero = tlm(dir, "sample --ckpt " + kCkpt + " --num_samples 0");
  EXPECT_EQ(zero.status, 1);
  EXPECT_NE(zero.err.find("tlm: error: sample: --num_samples must be at least 1, got 0"), std::string::npos) << zero.err;
}

TEST(SampleCli, APromptFileGivesWhatTheSameTextViaPromptGives) {
  TempDir dir;
  const std::string text = "the cat\nand the ";  // a newline inside, as a file holds it
  testing::write_bytes(dir / "prompt.txt", text);
  CliRun from_file = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --seed 3 --prompt_file " + (dir / "prompt.txt"));
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  CliRun inline_ = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --seed 3 --prompt '" + text + "'");
  ASSERT_EQ(inline_.status, 0) << inline_.err;
  EXPECT_EQ(from_file.out, inline_.out);
  EXPECT_EQ(from_file.out.rfind(text, 0), 0u) << from_file.out;
  // With --num_samples too.
  CliRun a = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --seed 3 --num_samples 2 --prompt_file " + (dir / "prompt.txt"));
  CliRun b = tlm(dir, "sample --ckpt " + kCkpt + kSampling + " --seed 3 --num_samples 2 --prompt '" + text + "'");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(SampleCli, BadPromptFilesAreRefusedWithTheReason) {
  TempDir dir;
  auto refused = [&](const std::string& args, const std::string& needle) {
    CliRun r = tlm(dir, "sample --ckpt " + kCkpt + " " + args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << args;
  };
  refused("--prompt_file " + (dir / "missing.txt"), "tlm: error: sample: --prompt_file: cannot open '" + (dir / "missing.txt") + "'");
  testing::write_bytes(dir / "empty.txt", "");
  refused("--prompt_file " + (dir / "empty.txt"), "--prompt_file '" + (dir / "empty.txt") + "' is empty");
  refused("--prompt_file " + dir.path().string(), "it is a directory");
  testing::write_bytes(dir / "latin1.txt", "caf\xe9 au lait");
  refused("--prompt_file " + (dir / "latin1.txt"), "is not UTF-8 text: byte 0xe9 at offset 3");
  testing::write_bytes(dir / "ok.txt", "the ");
  refused("--prompt 'the ' --prompt_file " + (dir / "ok.txt"), "either as --prompt or as --prompt_file, not both");
  if (::geteuid() != 0) {  // root reads any file
    std::filesystem::permissions(dir / "ok.txt", std::filesystem::perms::none);
    refused("--prompt_file " + (dir / "ok.txt"), "cannot open '" + (dir / "ok.txt") + "': Permission denied");
  }
}

}  // namespace
}  // namespace tlm::train
