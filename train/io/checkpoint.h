// Checkpoints: one versioned, checksummed binary file holding JSON metadata and named tensors.
//
//   Checkpoint ck;
//   ck.meta["step"] = 1000;
//   ck.meta["config"] = cfg.to_json();
//   ck.meta["tokenizer"] = tok.to_json();
//   ck.meta["rng"] = rng_to_json(rng);
//   ck.add("wte.weight", wte);                      // any dtype, any layout (saved contiguous)
//   save_checkpoint("out/ckpt.bin", ck);            // atomic: old file intact on any failure
//
//   Checkpoint back = load_checkpoint("out/ckpt.bin");  // refuses damaged files, with the reason
//   wte.copy_from(back.get("wte.weight"));
//   rng_from_json(back.meta.at("rng"), rng);
//
// File layout (version 1; integers little-endian):
//   offset 0   char[8]   magic "TLMCKPT\0"
//          8   u32       format version (1)
//         12   u32       reserved (0)
//         16   u64       total file size in bytes, checksum included
//         24   u64       M = metadata length
//         32   M bytes   metadata: UTF-8 JSON text
//              u64       N = tensor count, then N records:
//                          u32 name length, name bytes (UTF-8, unique)
//                          u8 dtype (0 float32, 1 float64, 2 int32, 3 float16, 4 bfloat16), u8 ndim,
//                          u16 reserved
//                          i64 dims[ndim]; u64 data bytes; raw row-major data
//   size-4     u32       CRC-32 of every byte before it
// Loading checks, in order: magic, version, size (truncation), checksum, JSON, records; each
// failure names the file and the reason.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"
#include "train/sys/file_io.h"

namespace tlm::train {

inline constexpr char kCheckpointMagic[8] = {'T', 'L', 'M', 'C', 'K', 'P', 'T', '\0'};
inline constexpr uint32_t kCheckpointVersion = 1;
inline constexpr size_t kCheckpointHeaderBytes = 32;

struct Checkpoint {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order

  void add(std::string name, const Tensor& t);  // names must be unique
  bool has(std::string_view name) const;
  const Tensor& get(std::string_view name) const;  // error lists the names present
};

// `disk_full` (tests only): fail as a full disk would (train/sys/file_io.h).
void save_checkpoint(const std::string& path, const Checkpoint& ckpt,
                     const DiskFull* disk_full = nullptr);
// Which tensors to keep when loading (by file name, e.g. "model.h.0.attn.c_attn.weight");
// empty: all. The others are still checked (shapes, sizes, the file's CRC) but not copied.
using TensorFilter = std::function<bool(std::string_view name)>;
// The file is memory-mapped and read once: the CRC pass and each kept tensor's copy release
// their pages as they go, so the resident set grows by the kept tensors, not by the file.
Checkpoint load_checkpoint(const std::string& path, const TensorFilter& keep = {});
// The metadata alone (config, tokenizer, step...), the whole file still checked.
nlohmann::json load_checkpoint_meta(const std::string& path);

// The same encoding in memory (save/load are these plus the atomic file write/read).
std::string encode_checkpoint(const Checkpoint& ckpt);
// `release(offset, n)`, when given, is told when bytes are no longer needed (MappedFile::release).
Checkpoint decode_checkpoint(std::string_view bytes, const std::string& source,
                             const TensorFilter& keep = {},
                             const std::function<void(size_t, size_t)>& release = {});

// Bit-exact RNG state as JSON: {"state": "0x...", "has_spare": bool, "spare_bits": "0x..."}.
nlohmann::json rng_to_json(const Rng& rng);
void rng_from_json(const nlohmann::json& j, Rng& rng);

}  // namespace tlm::train
