#include "tensor/storage.h"

#include <atomic>
#include <cstdlib>

#include "tensor/error.h"

namespace tlm {
namespace {

std::atomic<int64_t> g_current{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocations{0};

void count_allocation(int64_t bytes) {
  int64_t now = g_current.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  g_allocations.fetch_add(1);
}

}  // namespace

MemoryStats memory_stats() { return {g_current.load(), g_peak.load(), g_allocations.load()}; }

void reset_peak_memory() { g_peak.store(g_current.load()); }

void Storage::FreeDeleter::operator()(void* p) const { std::free(p); }

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  constexpr size_t kAlign = 64;  // a cache line, and what AVX-512 loads like
  size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  data_.reset(std::aligned_alloc(kAlign, rounded));
  TLM_CHECK(data_ != nullptr, "out of memory: could not allocate {} bytes for a tensor", nbytes);
  count_allocation(static_cast<int64_t>(nbytes_));
}

Storage::~Storage() { g_current.fetch_sub(static_cast<int64_t>(nbytes_)); }

}  // namespace tlm
