// Helpers shared by the train/ tests: a scratch directory removed at scope exit, whole-file
// reads and writes, the tlm command run with its output captured (and, from
// tests/common/expect_error.h, EXPECT_TLM_ERROR).
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tests/common/expect_error.h"  // EXPECT_TLM_ERROR

namespace tlm::train::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tlm_train_XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  // Names of the files in the directory (to check that no temp files are left).
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The records of a run's log.jsonl, all of them or those of one "kind" ("step", "eval", ...).
inline std::vector<nlohmann::json> log_records(const std::string& path, const std::string& kind = "") {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_bytes(path));
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (kind.empty() || j.at("kind") == kind) out.push_back(std::move(j));
  }
  return out;
}

#ifdef TLM_BINARY_DIR
// build/tlm with `args` (a shell command line); its stdout and stderr are captured
// through dir/o.txt and dir/e.txt.
struct CliRun {
  int status = -1;  // exit status
  std::string out, err;
};

template <class Dir>
CliRun run_tlm_cli(const Dir& dir, const std::string& args) {
  const std::string cmd = std::string(TLM_BINARY_DIR) + "/tlm " + args + " > " + (dir / "o.txt") +
                          " 2> " + (dir / "e.txt");
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_bytes(dir / "o.txt"), read_bytes(dir / "e.txt")};
}
#endif

}  // namespace tlm::train::testing
