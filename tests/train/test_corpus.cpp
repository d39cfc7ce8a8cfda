#include "train/data/corpus.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/train/test_util.h"
#include "train/data/char_tokenizer.h"

namespace tlm::train {
namespace {

using testing::TempDir;
using testing::write_bytes;

TEST(Corpus, FortuneDatabasesInNameOrderWithoutSeparators) {
  TempDir dir;
  write_bytes(dir / "b", "one\n%\ntwo\nlines\n%\n");
  write_bytes(dir / "b.dat", "index");
  write_bytes(dir / "a", "alpha\n%\n%\nbeta");  // an empty fortune, no final newline
  write_bytes(dir / "a.dat", "index");
  write_bytes(dir / "c", "caf\xE9\n");            // legacy Latin-1...
  write_bytes(dir / "c.u8", "caf\xC3\xA9\n");     // ...and its UTF-8 version, which wins
  write_bytes(dir / "c.dat", "index");
  write_bytes(dir / "d", "delta\r\n%\r\n");
  write_bytes(dir / "d.dat", "index");
  std::filesystem::create_symlink("d", dir / "d.u8");  // Debian's layout: the same file
  write_bytes(dir / "notes.txt", "not a fortune database");
  write_bytes(dir / "e.dat", "an index without its text");
  std::filesystem::create_directory(dir / "off");
  write_bytes(dir / "off/x", "skipped\n");
  write_bytes(dir / "off/x.dat", "index");

  const std::string corpus = build_fortunes_corpus(dir.path().string());
  EXPECT_EQ(corpus, "alpha\n\nbeta\n\none\n\ntwo\nlines\n\ncaf\xC3\xA9\n\ndelta\r\n\n");
  EXPECT_EQ(build_fortunes_corpus(dir.path().string()), corpus);
}

TEST(Corpus, ErrorsNameTheDirectory) {
  TempDir dir;
  EXPECT_TLM_ERROR(build_fortunes_corpus(dir / "missing"), "corpus:", "missing",
                   "is not a directory", "fortunes");
  write_bytes(dir / "readme", "no index");
  EXPECT_TLM_ERROR(build_fortunes_corpus(dir.path().string()), "holds no fortune databases");
}

TEST(Corpus, DebianFortunes) {
  if (!std::filesystem::is_directory(kFortunesDir))
    GTEST_SKIP() << kFortunesDir << " is absent (Debian package 'fortunes' not installed)";
  const std::string corpus = build_fortunes_corpus();
  EXPECT_GT(corpus.size(), 1000000u);
  EXPECT_EQ(corpus.find("\n%\n"), std::string::npos);
  EXPECT_NE(corpus.rfind("\n\n"), std::string::npos);
  EXPECT_EQ(build_fortunes_corpus(), corpus);
  CharTokenizer tok = CharTokenizer::build(corpus);
  EXPECT_EQ(tok.decode(tok.encode(corpus)), corpus);
  RecordProperty("bytes", std::to_string(corpus.size()));
  RecordProperty("char_vocab", std::to_string(tok.vocab_size()));
}

}  // namespace
}  // namespace tlm::train
