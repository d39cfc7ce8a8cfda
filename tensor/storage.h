// Storage: one reference-counted, 64-byte aligned buffer shared by a tensor and its views.
//
// Every allocation goes through here, so memory_stats() can report the bytes tensors hold
// now and at their peak (the `peak_bytes` of the training log). Freed blocks are kept in
// size classes (steps of 1/8 of a power of two) and reused: a training step allocates the
// same sizes every time, so after the first step no memory is requested from the system
// and no page is faulted in again (a fresh 64 MB block costs more to fault in than to fill). The version counter lives on
// the storage, so an in-place write through any view is seen by every saved tensor that
// shares it (autograd refuses to use a saved tensor that changed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tlm {

struct MemoryStats {
  int64_t current_bytes = 0;  // held by live storages now
  int64_t peak_bytes = 0;     // the maximum of current_bytes since the last reset
  int64_t allocations = 0;    // storages created since the program started
  int64_t system_allocations = 0;  // of those, the ones the cache could not serve
  int64_t cached_bytes = 0;   // freed blocks kept for reuse
};

// Process-wide counters of the tensor allocator (the one global of tlm: memory is global).
MemoryStats memory_stats();
// Sets peak_bytes to current_bytes, so a phase (one training step) can be measured alone.
void reset_peak_memory();
// Returns the cached free blocks to the system.
void release_cached_memory();

class Storage {
 public:
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }

  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  struct FreeDeleter {
    size_t capacity;
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeDeleter> data_;
  size_t nbytes_;
  uint64_t version_ = 0;
};

}  // namespace tlm
