// How much memory this process may still allocate: the smaller of the kernel's MemAvailable
// (/proc/meminfo) and the room left under the cgroup's limit (v2 memory.max - memory.current,
// or v1 memory.limit_in_bytes - memory.usage_in_bytes), so that a run inside a container is
// measured against the container's limit, not the host's.
//
//   AvailableMemory a = available_memory();   // {bytes, "MemAvailable" | "cgroup limit ..."}
#pragma once

#include <cstdint>
#include <string>

namespace tlm::train {

struct AvailableMemory {
  int64_t bytes = -1;  // -1: unknown (no /proc/meminfo): nothing is refused
  std::string source;  // which bound it is: "MemAvailable" or "the cgroup limit (N of M used)"
};

AvailableMemory available_memory();

// "1.50 GiB", "320.0 MiB", "12.0 KiB", "17 B"
std::string format_bytes(int64_t bytes);

}  // namespace tlm::train
