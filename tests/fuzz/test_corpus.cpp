// Replays every committed fuzz input (tests/fuzz/<target>/: the seed corpus and each input a
// fuzzer ever crashed on) through its contract, in the normal and the sanitizer test builds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/fuzz/targets.h"

namespace tlm::fuzz {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class FuzzCorpus : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzCorpus, EveryCommittedInputKeepsTheContract) {
  const Target& t = GetParam();
  const std::filesystem::path dir = std::filesystem::path(TLM_SOURCE_DIR) / "tests/fuzz" / t.name;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    SCOPED_TRACE(e.path().string());
    const std::string bytes = read_all(e.path());
    EXPECT_NO_THROW(t.run(bytes));  // tlm::Error is caught inside: anything else is a finding
    ++n;
  }
  EXPECT_GE(n, 3) << "the seed corpus of " << t.name << " is missing";
}

INSTANTIATE_TEST_SUITE_P(All, FuzzCorpus, ::testing::ValuesIn(targets()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tlm::fuzz
