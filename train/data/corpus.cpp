#include "train/data/corpus.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "tensor/error.h"
#include "train/sys/file_io.h"

namespace tlm::train {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_regular(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks
}

// Appends each fortune of a strfile source followed by one blank line.
void append_fortunes(std::string_view text, std::string& out) {
  std::string fortune;
  auto flush = [&] {
    if (fortune.find_first_not_of(" \t\r\n") != std::string::npos) {
      out += fortune;
      out += '\n';
    }
    fortune.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line == "%" || line == "%\r") {
      flush();
    } else {
      fortune.append(line);
      fortune += '\n';
    }
    pos = end + 1;
  }
  flush();
}

}  // namespace

std::string build_fortunes_corpus(const std::string& dir) {
  std::error_code ec;
  TLM_CHECK(fs::is_directory(dir, ec),
            "corpus: '{}' is not a directory (install Debian's 'fortunes' package)", dir);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || ends_with(name, ".dat") || ends_with(name, ".u8")) continue;
    if (is_regular(entry.path()) && is_regular(entry.path().string() + ".dat")) names.push_back(name);
  }
  TLM_CHECK(!ec, "corpus: cannot list '{}': {}", dir, ec.message());
  TLM_CHECK(!names.empty(), "corpus: '{}' holds no fortune databases (files X with an X.dat index)",
            dir);
  std::sort(names.begin(), names.end());

  std::string out;
  for (const std::string& name : names) {
    const fs::path plain = fs::path(dir) / name;
    std::string text = read_file(plain.string(), "corpus");
    const fs::path u8 = fs::path(dir) / (name + ".u8");
    if (is_regular(u8) && !fs::equivalent(plain, u8, ec)) {
      std::string utf8 = read_file(u8.string(), "corpus");
      if (utf8 != text) text = std::move(utf8);  // the UTF-8 version of a legacy-encoded file
    }
    append_fortunes(text, out);
  }
  TLM_CHECK(!out.empty(), "corpus: the fortune databases in '{}' are empty", dir);
  return out;
}

}  // namespace tlm::train
