#include "train/data/parallel_encode.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "tensor/error.h"

namespace tlm::train {

namespace {
bool graphic_ascii(char c) { return c >= 0x21 && c <= 0x7e; }
}  // namespace

size_t next_safe_cut(std::string_view text, size_t from) {
  const size_t n = text.size();
  size_t search = std::max<size_t>(from, 2) - 1;  // a newline at from - 1 or later, not at 0
  while (true) {
    const size_t nl = text.find('\n', search);
    if (nl == std::string_view::npos || nl + 1 >= n) return n;
    if (graphic_ascii(text[nl - 1]) && graphic_ascii(text[nl + 1])) return nl + 1;
    search = nl + 1;
  }
}

std::vector<std::string_view> split_at_safe_cuts(std::string_view text, size_t chunk_bytes) {
  TLM_CHECK(chunk_bytes > 0, "encode: chunk_bytes must be positive");
  std::vector<std::string_view> chunks;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = next_safe_cut(text, start + chunk_bytes);
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

std::vector<int32_t> encode_parallel(const Tokenizer& tok, std::string_view text, int threads,
                                     size_t chunk_bytes) {
  TLM_CHECK(threads >= 1, "encode: threads must be at least 1, got {}", threads);
  const std::vector<std::string_view> chunks = split_at_safe_cuts(text, chunk_bytes);
  if (threads == 1 || chunks.size() <= 1) return tok.encode(text);
  std::vector<std::vector<int32_t>> ids(chunks.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t c; (c = next.fetch_add(1)) < chunks.size();) {
      try {
        ids[c] = tok.encode(chunks[c]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = chunks.size();  // stop handing out chunks
      }
    }
  };
  const int n_threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), chunks.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  size_t total = 0;
  for (const auto& v : ids) total += v.size();
  std::vector<int32_t> out;
  out.reserve(total);
  for (auto& v : ids) {
    out.insert(out.end(), v.begin(), v.end());
    std::vector<int32_t>().swap(v);
  }
  return out;
}

}  // namespace tlm::train
