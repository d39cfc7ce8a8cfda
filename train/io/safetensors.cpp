#include "train/io/safetensors.h"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>

#include "tensor/error.h"
#include "tensor/half.h"
#include "train/sys/file_io.h"

namespace tlm::train {

static_assert(std::endian::native == std::endian::little,
              "safetensors: the format is little-endian and this code reads raw memory");

namespace {

// Bytes per element of each safetensors dtype (safetensors/src/tensor.rs, Dtype).
uint64_t dtype_bytes(std::string_view d) {
  if (d == "BOOL" || d == "U8" || d == "I8" || d == "F8_E5M2" || d == "F8_E4M3") return 1;
  if (d == "I16" || d == "U16" || d == "F16" || d == "BF16") return 2;
  if (d == "I32" || d == "U32" || d == "F32") return 4;
  if (d == "I64" || d == "U64" || d == "F64") return 8;
  return 0;
}

struct Mapping {
  void* addr = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
  }
};

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TLM_CHECK(fd >= 0, "safetensors: cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  const int err = errno;
  if (rc != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    TLM_FAIL("safetensors: '{}' is not a regular file{}", path,
             rc != 0 ? fmt::format(" ({})", std::strerror(err)) : "");
  }
  auto map = std::make_shared<Mapping>();
  map->size = static_cast<size_t>(st.st_size);
  if (map->size > 0) map->addr = ::mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);
  TLM_CHECK(map->size == 0 || map->addr != MAP_FAILED, "safetensors: cannot map '{}': {}", path,
            std::strerror(map_err));
  const std::string_view bytes(map->size ? static_cast<const char*>(map->addr) : "", map->size);
  return parse(bytes, path, map);
}

SafetensorsFile SafetensorsFile::parse(std::string_view bytes, const std::string& source,
                                       std::shared_ptr<const void> owner) {
  if (!owner) {  // keep a copy
    auto copy = std::make_shared<std::string>(bytes);
    bytes = *copy;
    owner = copy;
  }
  SafetensorsFile f;
  f.owner_ = owner;
  f.source_ = source;
  TLM_CHECK(bytes.size() >= 8, "safetensors: '{}' is truncated: {} bytes, shorter than the 8-byte "
            "header length", source, bytes.size());
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  TLM_CHECK(n <= kSafetensorsMaxHeader, "safetensors: '{}': header of {} bytes is over the {} byte "
            "limit (corrupt, or not a safetensors file)", source, n, kSafetensorsMaxHeader);
  TLM_CHECK(n <= bytes.size() - 8, "safetensors: '{}' is truncated: the header needs {} bytes, "
            "the file has {} after the length", source, n, bytes.size() - 8);
  const std::string_view header = bytes.substr(8, n);
  f.data_ = bytes.substr(8 + n);

  // Names must be unique: nlohmann would silently keep the last of two equal keys.
  std::set<std::string> names;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header, [&](int depth, nlohmann::json::parse_event_t event,
                                          nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
        const std::string key = parsed.get<std::string>();
        TLM_CHECK(names.insert(key).second, "safetensors: '{}': tensor '{}' appears twice in the "
                  "header", source, key);
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("safetensors: '{}': the header is not valid JSON: {}", source, e.what());
  }
  TLM_CHECK(j.is_object(), "safetensors: '{}': the header is not a JSON object", source);
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      TLM_CHECK(v.is_object(), "safetensors: '{}': __metadata__ is not an object", source);
      for (const auto& [k, s] : v.items()) {
        TLM_CHECK(s.is_string(), "safetensors: '{}': __metadata__ '{}' is not a string", source, k);
        f.metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e;
    e.name = name;
    TLM_CHECK(v.is_object(), "safetensors: '{}': tensor '{}': its entry is not an object", source, name);
    const auto dt = v.find("dtype");
    TLM_CHECK(dt != v.end() && dt->is_string(), "safetensors: '{}': tensor '{}' has no string "
              "'dtype'", source, name);
    e.dtype = dt->get<std::string>();
    const uint64_t esize = dtype_bytes(e.dtype);
    TLM_CHECK(esize > 0, "safetensors: '{}': tensor '{}' has unknown dtype '{}'", source, name, e.dtype);
    const auto sh = v.find("shape");
    TLM_CHECK(sh != v.end() && sh->is_array(), "safetensors: '{}': tensor '{}' has no 'shape' "
              "array", source, name);
    // numel bounded by the buffer (checked below), so cap the product early against overflow.
    uint64_t numel = 1;
    bool huge = false, zero = false;
    for (const auto& d : *sh) {
      TLM_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
                "safetensors: '{}': tensor '{}' has shape {}: not non-negative integers", source,
                name, sh->dump());
      const uint64_t x = d.get<uint64_t>();
      TLM_CHECK(x <= (uint64_t{1} << 62), "safetensors: '{}': tensor '{}' has dimension {}",
                source, name, x);
      e.shape.push_back(static_cast<int64_t>(x));
      if (x == 0) zero = true;
      else if (numel > (uint64_t{1} << 62) / x) huge = true;
      else numel *= x;
    }
    if (zero) numel = 0, huge = false;
    const auto off = v.find("data_offsets");
    TLM_CHECK(off != v.end() && off->is_array() && off->size() == 2 &&
                  (*off)[0].is_number_unsigned() && (*off)[1].is_number_unsigned(),
              "safetensors: '{}': tensor '{}' has no 'data_offsets' [begin, end] of non-negative "
              "integers", source, name);
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    TLM_CHECK(e.begin <= e.end, "safetensors: '{}': tensor '{}' has data_offsets [{}, {}]: begin "
              "after end", source, name, e.begin, e.end);
    TLM_CHECK(e.end <= f.data_.size(), "safetensors: '{}': tensor '{}' has data_offsets [{}, {}] "
              "outside the {}-byte data buffer (truncated file?)", source, name, e.begin, e.end,
              f.data_.size());
    TLM_CHECK(!huge && numel * esize == e.end - e.begin,
              "safetensors: '{}': tensor '{}' {} {} needs {} bytes but data_offsets [{}, {}] hold {}",
              source, name, e.dtype, shape_str(e.shape),
              huge ? std::string("more than 2^62") : std::to_string(numel * esize), e.begin, e.end,
              e.end - e.begin);
    f.entries_.push_back(std::move(e));
  }
  // The tensors tile the buffer: sorted by offset, each starts where the previous one ended.
  std::vector<const SafetensorsEntry*> order;
  for (const auto& e : f.entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry* e : order) {
    TLM_CHECK(e->begin >= expected, "safetensors: '{}': tensor '{}' [{}, {}] overlaps tensor '{}' "
              "[{}, {}]", source, e->name, e->begin, e->end, prev ? prev->name : "", 
              prev ? prev->begin : 0, prev ? prev->end : 0);
    TLM_CHECK(e->begin == expected, "safetensors: '{}': tensor '{}' starts at byte {} of the data "
              "buffer, leaving a gap of {} bytes after {}", source, e->name, e->begin,
              e->begin - expected, prev ? "tensor '" + prev->name + "'" : std::string("its start"));
    expected = e->end;
    prev = e;
  }
  TLM_CHECK(expected == f.data_.size(), "safetensors: '{}': {} bytes after the last tensor{} are "
            "not part of any tensor", source, f.data_.size() - expected,
            prev ? " ('" + prev->name + "')" : std::string());
  return f;
}

bool SafetensorsFile::has(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return true;
  return false;
}

const SafetensorsEntry& SafetensorsFile::entry(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e;
  std::string names;
  for (size_t i = 0; i < entries_.size() && i < 12; ++i)
    names += (i ? ", " : "") + entries_[i].name;
  TLM_FAIL("safetensors: '{}' has no tensor '{}' (it has {} tensors: {}{})", source_, name,
           entries_.size(), names, entries_.size() > 12 ? ", ..." : "");
}

Tensor SafetensorsFile::get_f32(std::string_view name) const {
  const SafetensorsEntry& e = entry(name);
  Tensor t = Tensor::empty(e.shape, DType::F32);
  const int64_t n = t.numel();
  if (n == 0) return t;
  float* dst = t.data<float>();
  const char* src = data_.data() + e.begin;
  if (e.dtype == "F32") {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
  } else if (e.dtype == "F16" || e.dtype == "BF16") {
    std::vector<uint16_t> h(static_cast<size_t>(n));  // the mapping may be unaligned
    std::memcpy(h.data(), src, static_cast<size_t>(n) * 2);
    if (e.dtype == "F16") fp16_to_floats(h.data(), dst, n);
    else bf16_to_floats(h.data(), dst, n);
  } else if (e.dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      dst[i] = static_cast<float>(v);
    }
  } else {
    TLM_FAIL("safetensors: '{}': tensor '{}' is {}; only F32, F16, BF16 and F64 tensors are read "
             "as floats", source_, name, e.dtype);
  }
  return t;
}

namespace {

const char* raw_bytes(const Tensor& t) {
  return t.dtype() == DType::F32   ? reinterpret_cast<const char*>(t.data<float>())
         : t.dtype() == DType::F16 ? reinterpret_cast<const char*>(t.data<Fp16>())
                                   : reinterpret_cast<const char*>(t.data<Bf16>());
}

// The 8-byte length and the header; `data` receives the contiguous tensors to write after it.
std::string encode_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::map<std::string, std::string>& metadata,
                          std::vector<Tensor>& data) {
  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + nlohmann::json(metadata).dump();
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    TLM_CHECK(t.defined(), "safetensors: tensor '{}' is undefined", name);
    TLM_CHECK(name != "__metadata__" && seen.insert(name).second,
              "safetensors: tensor name '{}' is reserved or repeated", name);
    const char* dtype = t.dtype() == DType::F32 ? "F32" : t.dtype() == DType::F16 ? "F16"
                        : t.dtype() == DType::BF16 ? "BF16" : nullptr;
    TLM_CHECK(dtype, "safetensors: tensor '{}' is {}; the writer takes F32, F16 or BF16", name,
              dtype_name(t.dtype()));
    data.push_back(t.contiguous());
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    nlohmann::json e = {{"dtype", dtype}, {"shape", t.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    if (header.size() > 1) header += ',';
    header += nlohmann::json(name).dump();
    header += ':';
    header += e.dump();
    offset += nbytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';  // the data buffer starts 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header;
}

}  // namespace

std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> data;
  std::string out = encode_header(tensors, metadata, data);
  for (const Tensor& t : data)
    if (t.numel() > 0) out.append(raw_bytes(t), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> data;
  const std::string header = encode_header(tensors, metadata, data);
  AtomicFileWriter file(path, "safetensors");  // streamed: the tensors are not copied again
  file.write(header);
  for (const Tensor& t : data)
    if (t.numel() > 0) file.write(raw_bytes(t), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  file.commit();
}

}  // namespace tlm::train
