#include "train/sys/memory_limit.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace tlm::train {

namespace {

// The first number in a file ("max" and missing files: -1).
int64_t read_number(const char* path) {
  std::ifstream f(path);
  std::string word;
  if (!(f >> word) || word == "max") return -1;
  try {
    return std::stoll(word);
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t mem_available() {
  std::ifstream f("/proc/meminfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream in(line.substr(13));
    int64_t kb = -1;
    in >> kb;
    return kb >= 0 ? kb * 1024 : -1;
  }
  return -1;
}

}  // namespace

AvailableMemory available_memory() {
  AvailableMemory a{mem_available(), "MemAvailable in /proc/meminfo"};
  struct Limit { const char* max; const char* used; };
  for (Limit l : {Limit{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                  Limit{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const int64_t max = read_number(l.max), used = read_number(l.used);
    if (max <= 0 || max >= (int64_t{1} << 60) || used < 0) continue;  // no limit
    const int64_t room = std::max<int64_t>(0, max - used);
    if (a.bytes < 0 || room < a.bytes)
      a = {room, fmt::format("the cgroup memory limit {} ({}; {} in use)", format_bytes(max), l.max, format_bytes(used))};
    break;
  }
  return a;
}

std::string format_bytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", bytes);
}

}  // namespace tlm::train
