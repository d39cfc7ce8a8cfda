#include "tensor/storage.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "tensor/error.h"

namespace tlm {
namespace {

std::atomic<int64_t> g_current{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_system_allocations{0};
std::atomic<int64_t> g_cached{0};

constexpr size_t kAlign = 64;  // a cache line, and what AVX-512 loads like

// The size class of a request: blocks up to 4 KiB in 64-byte steps, larger ones rounded up
// to 1/8 of their power of two (at most 12.5% waste).
size_t size_class(size_t nbytes) {
  if (nbytes <= 4096) return std::max<size_t>(kAlign, (nbytes + kAlign - 1) / kAlign * kAlign);
  size_t p = 1;
  while (p < nbytes) p <<= 1;
  size_t step = p / 16;
  return (nbytes + step - 1) / step * step;
}

// Set while the cache object exists: a storage freed during static destruction, after the
// cache is gone, returns its block straight to the system.
std::atomic<bool> g_cache_alive{false};

class BlockCache {
 public:
  BlockCache() { g_cache_alive.store(true); }
  void* take(size_t capacity) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(capacity);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    g_cached.fetch_sub(static_cast<int64_t>(capacity));
    return p;
  }
  void give(void* p, size_t capacity) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[capacity].push_back(p);
    g_cached.fetch_add(static_cast<int64_t>(capacity));
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [cap, blocks] : free_) {
      for (void* p : blocks) std::free(p);
      g_cached.fetch_sub(static_cast<int64_t>(cap * blocks.size()));
      blocks.clear();
    }
  }
  ~BlockCache() {
    g_cache_alive.store(false);
    release();
  }

 private:
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
};

BlockCache& cache() {
  static BlockCache c;
  return c;
}

void count_allocation(int64_t bytes) {
  int64_t now = g_current.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  g_allocations.fetch_add(1);
}

}  // namespace

MemoryStats memory_stats() {
  return {g_current.load(), g_peak.load(), g_allocations.load(), g_system_allocations.load(),
          g_cached.load()};
}

void reset_peak_memory() { g_peak.store(g_current.load()); }

void release_cached_memory() { cache().release(); }

void Storage::FreeDeleter::operator()(void* p) const {
  if (g_cache_alive.load()) cache().give(p, capacity);
  else std::free(p);
}

Storage::Storage(size_t nbytes) : data_(nullptr, FreeDeleter{size_class(nbytes)}), nbytes_(nbytes) {
  const size_t capacity = data_.get_deleter().capacity;
  void* p = cache().take(capacity);
  if (!p) {
    p = std::aligned_alloc(kAlign, capacity);
    g_system_allocations.fetch_add(1);
  }
  TLM_CHECK(p != nullptr, "out of memory: could not allocate {} bytes for a tensor", nbytes);
  data_.reset(p);
  count_allocation(static_cast<int64_t>(nbytes_));
}

Storage::~Storage() { g_current.fetch_sub(static_cast<int64_t>(nbytes_)); }

}  // namespace tlm
