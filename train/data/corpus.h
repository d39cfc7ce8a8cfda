// The built-in default corpus: the text of Debian's `fortunes` package, so `make train` works on
// a fresh machine without downloading anything.
//
//   std::string text = build_fortunes_corpus();              // ~ several MB of English text
//   auto tok = make_tokenizer("char", text);
//
// A fortune database is a text file X with its strfile index X.dat beside it; X.u8, when present,
// is its UTF-8 version (in Debian a symlink to X) and is used instead only when it differs.
// Databases are read in name order; each fortune (the text between "%" lines) is followed by one
// blank line, so the result is deterministic and contains no separators.
#pragma once

#include <string>

namespace tlm::train {

inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

std::string build_fortunes_corpus(const std::string& dir = kFortunesDir);

}  // namespace tlm::train
