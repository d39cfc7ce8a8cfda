// safetensors: Hugging Face's tensor file format (github.com/huggingface/safetensors), read
// memory-mapped and validated as outside input, and written.
//
//   SafetensorsFile f = SafetensorsFile::open("gpt2/model.safetensors");   // mmap, validated
//   for (const auto& e : f.entries()) ... e.name, e.dtype, e.shape ...
//   Tensor w = f.get_f32("h.0.attn.c_attn.weight");     // F32 / F16 / BF16 -> a float32 copy
//   save_safetensors("out/model.safetensors", {{"wte.weight", wte}}, {{"format", "pt"}});
//
// Layout: u64 N (little-endian), N bytes of UTF-8 JSON header, then the data buffer.
//   {"name": {"dtype": "F32", "shape": [768, 2304], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}            (offsets relative to the buffer)
// Checked on reading, each failure naming the file and the tensor: N <= 100 MB and inside the
// file, valid JSON (an object, no duplicate names), a known dtype, a shape of non-negative
// integers, end - begin == numel * dtype size, and the tensors tiling the buffer exactly (no
// overlaps, no gaps, nothing outside the file, nothing after the last tensor) - the rules of the
// reference implementation. Data is read from the mapping; nothing is read twice.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::train {

inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;  // the reference's limit

struct SafetensorsEntry {
  std::string name;
  std::string dtype;      // "F32", "F16", "BF16", "F64", "I64", ... as in the file
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

class SafetensorsFile {
 public:
  // Maps the file read-only and validates it.
  static SafetensorsFile open(const std::string& path);
  // Validates bytes already in memory (kept alive by `owner`, or copied when it is null).
  static SafetensorsFile parse(std::string_view bytes, const std::string& source,
                               std::shared_ptr<const void> owner = nullptr);

  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& source() const { return source_; }
  bool has(std::string_view name) const;
  const SafetensorsEntry& entry(std::string_view name) const;  // error lists what there is
  // A float32 copy of a F32, F16 or BF16 tensor (other dtypes: an error naming the tensor).
  Tensor get_f32(std::string_view name) const;

 private:
  std::shared_ptr<const void> owner_;  // the mapping (or copy) that `data_` points into
  std::string_view data_;              // the data buffer
  std::string source_;
  std::vector<SafetensorsEntry> entries_;  // in header order
  std::map<std::string, std::string> metadata_;
};

// Writes the tensors (F32, F16 or BF16, any layout; saved contiguous) in the given order,
// header padded with spaces to a multiple of 8 bytes. Atomic (train/sys/file_io.h).
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace tlm::train
