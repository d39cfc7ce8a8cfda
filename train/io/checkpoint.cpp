#include "train/io/checkpoint.h"

#include <bit>
#include <set>
#include <algorithm>
#include <cstring>

#include "tensor/error.h"
#include "train/sys/file_io.h"

namespace tlm::train {

static_assert(std::endian::native == std::endian::little,
              "checkpoint: the file format is little-endian and this writer stores raw memory");

namespace {

constexpr int kMaxDims = 16;

const void* raw_data(const Tensor& t) {
  switch (t.dtype()) {
    case DType::F32: return t.data<float>();
    case DType::F64: return t.data<double>();
    case DType::I32: return t.data<int32_t>();
    case DType::F16: return t.data<Fp16>();
    case DType::BF16: return t.data<Bf16>();
  }
  return nullptr;
}

void* raw_data(Tensor& t) { return const_cast<void*>(raw_data(static_cast<const Tensor&>(t))); }

std::string dump_meta(const nlohmann::json& meta) {
  try {
    return meta.dump();
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("checkpoint: metadata cannot be written as JSON: {}", e.what());
  }
}

// Serialises into any sink with write(const void*, size_t), keeping a running CRC-32.
template <class Sink>
class CrcWriter {
 public:
  explicit CrcWriter(Sink& sink) : sink_(sink) {}
  void bytes(const void* p, size_t n) {
    crc_ = crc32_update(crc_, p, n);
    sink_.write(p, n);
  }
  template <class T> void pod(T v) { bytes(&v, sizeof(T)); }
  uint32_t crc() const { return crc_; }

 private:
  Sink& sink_;
  uint32_t crc_ = 0;
};

template <class Sink>
void write_checkpoint(Sink& sink, const Checkpoint& ckpt) {
  const std::string meta = dump_meta(ckpt.meta);
  std::vector<Tensor> data;  // contiguous versions, kept alive while writing
  data.reserve(ckpt.tensors.size());
  uint64_t total = kCheckpointHeaderBytes + meta.size() + sizeof(uint64_t);
  for (const auto& [name, t] : ckpt.tensors) {
    TLM_CHECK(t.defined(), "checkpoint: tensor '{}' is undefined", name);
    TLM_CHECK(t.dim() <= kMaxDims, "checkpoint: tensor '{}' {} has more than {} dims", name,
              t.str(), kMaxDims);
    data.push_back(t.contiguous());
    total += sizeof(uint32_t) + name.size() + 4 + 8 * t.dim() + sizeof(uint64_t) +
             static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
  }
  total += sizeof(uint32_t);  // the checksum

  CrcWriter<Sink> w(sink);
  w.bytes(kCheckpointMagic, sizeof(kCheckpointMagic));
  w.pod(kCheckpointVersion);
  w.pod(uint32_t{0});
  w.pod(total);
  w.pod(static_cast<uint64_t>(meta.size()));
  w.bytes(meta.data(), meta.size());
  w.pod(static_cast<uint64_t>(ckpt.tensors.size()));
  for (size_t i = 0; i < ckpt.tensors.size(); ++i) {
    const std::string& name = ckpt.tensors[i].first;
    const Tensor& t = data[i];
    w.pod(static_cast<uint32_t>(name.size()));
    w.bytes(name.data(), name.size());
    w.pod(static_cast<uint8_t>(t.dtype()));
    w.pod(static_cast<uint8_t>(t.dim()));
    w.pod(uint16_t{0});
    for (int64_t d : t.shape()) w.pod(static_cast<int64_t>(d));
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    w.pod(nbytes);
    if (nbytes > 0) w.bytes(raw_data(t), nbytes);
  }
  const uint32_t crc = w.crc();
  sink.write(&crc, sizeof(crc));
}

struct StringSink {
  std::string out;
  void write(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
};

// Bounds-checked reader over the verified payload.
class Reader {
 public:
  Reader(std::string_view bytes, size_t pos, const std::string& source)
      : bytes_(bytes), pos_(pos), source_(source) {}
  template <class T> T pod(const char* field) {
    T v;
    std::memcpy(&v, take(sizeof(T), field), sizeof(T));
    return v;
  }
  const char* take(uint64_t n, const char* field) {
    TLM_CHECK(n <= bytes_.size() - pos_,
              "checkpoint: '{}' is corrupted: {} needs {} bytes at offset {}, only {} remain",
              source_, field, n, pos_, bytes_.size() - pos_);
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view bytes_;
  size_t pos_;
  const std::string& source_;
};

std::string hex_u64(uint64_t v) { return fmt::format("{:#018x}", v); }

uint64_t parse_hex_u64(const nlohmann::json& j, const char* key) {
  TLM_CHECK(j.contains(key) && j.at(key).is_string(), "checkpoint: rng state lacks string '{}'",
            key);
  const std::string s = j.at(key).get<std::string>();
  size_t used = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(s, &used, 16);
  } catch (const std::exception&) {
    used = 0;
  }
  TLM_CHECK(used == s.size() && !s.empty(), "checkpoint: rng state '{}' = '{}' is not hex", key, s);
  return v;
}

}  // namespace

void Checkpoint::add(std::string name, const Tensor& t) {
  TLM_CHECK(!has(name), "checkpoint: duplicate tensor name '{}'", name);
  TLM_CHECK(t.defined(), "checkpoint: tensor '{}' is undefined", name);
  tensors.emplace_back(std::move(name), t);
}

bool Checkpoint::has(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

const Tensor& Checkpoint::get(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string names;
  for (const auto& [n, t] : tensors) names += (names.empty() ? "" : ", ") + n;
  TLM_FAIL("checkpoint: no tensor named '{}' (it has {} tensors: {})", name, tensors.size(), names);
}

std::string encode_checkpoint(const Checkpoint& ckpt) {
  StringSink sink;
  write_checkpoint(sink, ckpt);
  return std::move(sink.out);
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt, const DiskFull* disk_full) {
  for (size_t i = 0; i < ckpt.tensors.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      TLM_CHECK(ckpt.tensors[i].first != ckpt.tensors[j].first,
                "checkpoint: duplicate tensor name '{}'", ckpt.tensors[i].first);
  AtomicFileWriter file(path, "checkpoint", disk_full);
  write_checkpoint(file, ckpt);
  file.commit();
}

Checkpoint decode_checkpoint(std::string_view bytes, const std::string& source,
                             const TensorFilter& keep,
                             const std::function<void(size_t, size_t)>& release) {
  const size_t size = bytes.size();
  TLM_CHECK(size != 0, "checkpoint: '{}' is empty (0 bytes): not a tlm checkpoint", source);
  // A prefix of the magic is a truncated checkpoint (reported below), anything else is not one.
  TLM_CHECK(std::memcmp(bytes.data(), kCheckpointMagic, std::min(size, sizeof(kCheckpointMagic))) == 0,
            "checkpoint: '{}' is not a tlm checkpoint (its first bytes are not the magic "
            "\"TLMCKPT\\0\")",
            source);
  TLM_CHECK(size >= kCheckpointHeaderBytes,
            "checkpoint: '{}' is truncated: {} bytes, shorter than the {}-byte header", source,
            size, kCheckpointHeaderBytes);
  Reader header(bytes, sizeof(kCheckpointMagic), source);
  const auto version = header.pod<uint32_t>("version");
  TLM_CHECK(version == kCheckpointVersion,
            "checkpoint: '{}' has unsupported format version {} (this build reads version {})",
            source, version, kCheckpointVersion);
  header.pod<uint32_t>("reserved");
  const auto expected = header.pod<uint64_t>("file size");
  TLM_CHECK(size >= expected, "checkpoint: '{}' is truncated: expected {} bytes, file has {}",
            source, expected, size);
  TLM_CHECK(size == expected,
            "checkpoint: '{}' is corrupted: header says {} bytes, file has {} (trailing data)",
            source, expected, size);
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + size - sizeof(uint32_t), sizeof(uint32_t));
  // The CRC in 64 MiB pieces, each released when done (a mapped file stays out of memory).
  uint32_t crc = 0;
  constexpr size_t kPiece = size_t{64} << 20;
  for (size_t at = 0, end = size - sizeof(uint32_t); at < end; at += kPiece) {
    const size_t n = std::min(kPiece, end - at);
    crc = crc32_update(crc, bytes.data() + at, n);
    if (release) release(at, n);
  }
  TLM_CHECK(crc == stored_crc,
            "checkpoint: '{}' is corrupted: checksum mismatch (stored CRC-32 {:#010x}, computed "
            "{:#010x})",
            source, stored_crc, crc);

  Reader r(bytes.substr(0, size - sizeof(uint32_t)), kCheckpointHeaderBytes - 8, source);
  const auto meta_len = r.pod<uint64_t>("metadata length");
  const char* meta_text = r.take(meta_len, "metadata");
  Checkpoint ck;
  try {
    ck.meta = nlohmann::json::parse(std::string_view(meta_text, meta_len));
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("checkpoint: '{}' has malformed JSON metadata: {}", source, e.what());
  }
  const auto count = r.pod<uint64_t>("tensor count");
  std::set<std::string> seen;  // every name, kept or not
  for (uint64_t i = 0; i < count; ++i) {
    const auto name_len = r.pod<uint32_t>("tensor name length");
    std::string name(r.take(name_len, "tensor name"), name_len);
    const auto dtype_code = r.pod<uint8_t>("dtype");
    const auto ndim = r.pod<uint8_t>("ndim");
    r.pod<uint16_t>("reserved");
    TLM_CHECK(dtype_code <= static_cast<uint8_t>(DType::BF16),
              "checkpoint: '{}' is corrupted: tensor '{}' has unknown dtype code {}", source, name,
              dtype_code);
    TLM_CHECK(ndim <= kMaxDims, "checkpoint: '{}' is corrupted: tensor '{}' has {} dims", source,
              name, ndim);
    const auto dtype = static_cast<DType>(dtype_code);
    Shape shape(ndim);
    // extent = the product of max(d, 1): it bounds numel and every stride, even when a zero
    // dim makes numel 0, and 2^59 elements keep numel * 8 bytes far from overflowing.
    uint64_t numel = 1, extent = 1;
    for (auto& d : shape) {
      d = r.pod<int64_t>("tensor dims");
      const uint64_t e = d > 1 ? static_cast<uint64_t>(d) : 1;
      TLM_CHECK(d >= 0 && extent <= (uint64_t{1} << 59) / e,
                "checkpoint: '{}' is corrupted: tensor '{}' has dimension {}", source, name, d);
      extent *= e;
      numel *= static_cast<uint64_t>(d);
    }
    const auto nbytes = r.pod<uint64_t>("tensor byte count");
    TLM_CHECK(nbytes == numel * dtype_size(dtype),
              "checkpoint: '{}' is corrupted: tensor '{}' {}{} holds {} bytes, expected {}", source,
              name, dtype_name(dtype), shape_str(shape), nbytes, numel * dtype_size(dtype));
    const char* src = r.take(nbytes, "tensor data");
    TLM_CHECK(seen.insert(name).second, "checkpoint: '{}' is corrupted: duplicate tensor name '{}'",
              source, name);
    if (keep && !keep(name)) continue;
    Tensor t = Tensor::empty(shape, dtype);
    if (nbytes > 0) std::memcpy(raw_data(t), src, nbytes);
    if (release) release(static_cast<size_t>(src - bytes.data()), nbytes);
    ck.tensors.emplace_back(std::move(name), std::move(t));
  }
  TLM_CHECK(r.pos() == size - sizeof(uint32_t),
            "checkpoint: '{}' is corrupted: {} unread bytes after the last tensor", source,
            size - sizeof(uint32_t) - r.pos());
  return ck;
}

Checkpoint load_checkpoint(const std::string& path, const TensorFilter& keep) {
  const MappedFile file(path, "checkpoint");
  return decode_checkpoint(file.bytes(), path, keep,
                           [&file](size_t offset, size_t n) { file.release(offset, n); });
}

nlohmann::json load_checkpoint_meta(const std::string& path) {
  return load_checkpoint(path, [](std::string_view) { return false; }).meta;
}

nlohmann::json rng_to_json(const Rng& rng) {
  const Rng::State s = rng.state();
  return {{"state", hex_u64(s.state)},
          {"has_spare", s.has_spare != 0},
          {"spare_bits", hex_u64(std::bit_cast<uint64_t>(s.spare))}};
}

void rng_from_json(const nlohmann::json& j, Rng& rng) {
  TLM_CHECK(j.is_object(), "checkpoint: rng state must be an object, got {}", j.dump());
  TLM_CHECK(j.contains("has_spare") && j.at("has_spare").is_boolean(),
            "checkpoint: rng state lacks boolean 'has_spare'");
  Rng::State s{};
  s.state = parse_hex_u64(j, "state");
  s.has_spare = j.at("has_spare").get<bool>() ? 1 : 0;
  s.spare = std::bit_cast<double>(parse_hex_u64(j, "spare_bits"));
  rng.set_state(s);
}

}  // namespace tlm::train
