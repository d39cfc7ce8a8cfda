#include "train/io/checkpoint.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "tests/train/test_util.h"
#include "train/sys/file_io.h"

namespace tlm::train {
namespace {

using testing::TempDir;

// ---- file_io ----

TEST(Crc32, MatchesZlibReference) {
  // python3 -c "import zlib; print(hex(zlib.crc32(b'123456789')))"  -> 0xcbf43926
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  // zlib.crc32(b'The quick brown fox jumps over the lazy dog') -> 0x414fa339
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  // Streaming in uneven pieces equals one call.
  std::string s(1000, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 37 + 11);
  uint32_t c = 0;
  for (size_t i = 0; i < s.size(); i += 7) c = crc32_update(c, s.data() + i, std::min<size_t>(7, s.size() - i));
  EXPECT_EQ(c, crc32(s));
}

TEST(FileIo, ReadFileErrorsNameTheFile) {
  TempDir dir;
  EXPECT_TLM_ERROR(read_file(dir / "missing.txt", "data"), "data: cannot open", "missing.txt",
                   "No such file");
  EXPECT_TLM_ERROR(read_file(dir.path().string(), "data"), "is a directory");
}

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemp) {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "first", "test");
  write_file_atomic(dir / "a.txt", "second", "test");
  EXPECT_EQ(read_file(dir / "a.txt", "test"), "second");
  EXPECT_EQ(dir.files(), std::vector<std::string>{"a.txt"});
}

TEST(FileIo, SimulatedDiskFullKeepsOldFile) {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "old contents", "test");
  for (uint64_t limit : {0u, 3u, 100u}) {
    const DiskFull full{limit};
    EXPECT_TLM_ERROR(write_file_atomic(dir / "a.txt", std::string(200, 'x'), "test", &full),
                     "test: cannot write", "No space left on device", "unchanged");
  }
  EXPECT_EQ(read_file(dir / "a.txt", "test"), "old contents");
  EXPECT_EQ(dir.files(), std::vector<std::string>{"a.txt"});
  // Without the hook, writing works again.
  write_file_atomic(dir / "a.txt", std::string(200, 'x'), "test");
  EXPECT_EQ(read_file(dir / "a.txt", "test").size(), 200u);
}

TEST(FileIo, WriterDestroyedWithoutCommitRemovesTemp) {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "old", "test");
  {
    AtomicFileWriter w(dir / "a.txt", "test");
    w.write("new");
    EXPECT_TRUE(std::filesystem::exists(w.temp_path()));
  }
  EXPECT_EQ(read_file(dir / "a.txt", "test"), "old");
  EXPECT_EQ(dir.files(), std::vector<std::string>{"a.txt"});
}

// A writer killed by SIGKILL leaves <path>.tmp.<pid>. The next writer removes the files of dead
// processes, and keeps those of live ones (a save in progress elsewhere).
TEST(FileIo, NextWriterRemovesTempFilesOfDeadWriters) {
  TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);  // reaped: its pid names no process now
  const std::string dead = (dir / "a.txt") + ".tmp." + std::to_string(child);
  const std::string live = (dir / "a.txt") + ".tmp." + std::to_string(::getppid());
  const std::string other = (dir / "b.txt") + ".tmp." + std::to_string(child);
  for (const std::string& p : {dead, live, other}) write_file_atomic(p, "half a checkpoint", "test");
  write_file_atomic(dir / "a.txt", "new", "test");
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));  // another file's temp: not ours to judge
  EXPECT_EQ(read_file(dir / "a.txt", "test"), "new");
}

// ---- checkpoints ----

Checkpoint sample_checkpoint() {
  Rng rng(7);
  Checkpoint ck;
  ck.meta["step"] = 1234;
  ck.meta["config"] = {{"n_layer", 4}, {"learning_rate", 1e-3}};
  ck.meta["note"] = "ünïcödé ok";
  ck.add("f32", Tensor::randn({3, 5}, rng));
  ck.add("f64", Tensor::randn({2, 1, 4}, rng, 1.0, DType::F64));
  ck.add("i32", Tensor::from_vector(std::vector<int32_t>{-5, 0, 7, INT32_MAX, INT32_MIN, 1}, {6}));
  ck.add("scalar", Tensor::scalar(3.5));
  ck.add("empty", Tensor::zeros({0, 4}));
  ck.add("f16", Tensor::randn({2, 3}, rng).to(DType::F16));    // 16-bit storage dtypes
  ck.add("bf16", Tensor::randn({3, 2}, rng).to(DType::BF16));
  // A non-contiguous view is stored as its contiguous values.
  Tensor base = Tensor::randn({4, 3}, rng);
  ck.add("strided", Tensor::make_view(base, {3, 4}, {1, 3}, 0));
  return ck;
}

void expect_bit_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  Tensor ac = a.contiguous(), bc = b.contiguous();
  const size_t n = static_cast<size_t>(a.numel()) * dtype_size(a.dtype());
  const void* pa = nullptr;
  const void* pb = nullptr;
  switch (a.dtype()) {
    case DType::F32: pa = ac.data<float>(); pb = bc.data<float>(); break;
    case DType::F64: pa = ac.data<double>(); pb = bc.data<double>(); break;
    case DType::I32: pa = ac.data<int32_t>(); pb = bc.data<int32_t>(); break;
    case DType::F16: pa = ac.data<Fp16>(); pb = bc.data<Fp16>(); break;
    case DType::BF16: pa = ac.data<Bf16>(); pb = bc.data<Bf16>(); break;
  }
  EXPECT_EQ(std::memcmp(pa, pb, n), 0);
}

TEST(Checkpoint, RoundTripIsBitExact) {
  TempDir dir;
  Checkpoint ck = sample_checkpoint();
  Rng rng(99);
  rng.normal();  // leaves a cached spare value in the state
  ck.meta["rng"] = rng_to_json(rng);
  save_checkpoint(dir / "c.ckpt", ck);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"c.ckpt"});

  Checkpoint back = load_checkpoint(dir / "c.ckpt");
  EXPECT_EQ(back.meta, ck.meta);
  ASSERT_EQ(back.tensors.size(), ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, ck.tensors[i].first);
    expect_bit_equal(back.tensors[i].second, ck.tensors[i].second);
  }
  EXPECT_EQ(back.get("strided").to_vector<float>(), ck.get("strided").to_vector<float>());

  // The RNG continues exactly where it was.
  Rng resumed(0);
  rng_from_json(back.meta.at("rng"), resumed);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(resumed.normal(), rng.normal());
  EXPECT_EQ(resumed.next_u64(), rng.next_u64());

  // Same bytes whether encoded in memory or streamed to the file.
  EXPECT_EQ(testing::read_bytes(dir / "c.ckpt"), encode_checkpoint(ck));
}

TEST(Checkpoint, AFilterKeepsSomeTensorsAndStillChecksTheWholeFile) {
  TempDir dir;
  const Checkpoint ck = sample_checkpoint();
  save_checkpoint(dir / "c.ckpt", ck);
  const Checkpoint some = load_checkpoint(dir / "c.ckpt", [](std::string_view n) { return n.starts_with("f"); });
  EXPECT_EQ(some.meta, ck.meta);
  std::vector<std::string> names;
  for (const auto& [name, t] : some.tensors) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"f32", "f64", "f16"}));
  for (const auto& [name, t] : some.tensors) expect_bit_equal(t, ck.get(name));
  EXPECT_EQ(load_checkpoint_meta(dir / "c.ckpt"), ck.meta);
  // A damaged byte in a tensor that is not kept is still found (the CRC covers the file).
  std::string bad = testing::read_bytes(dir / "c.ckpt");
  const std::string bytes = encode_checkpoint(ck);
  const size_t at = bytes.size() - 5;  // inside the last tensor's data ("strided")
  bad[at] = static_cast<char>(bad[at] ^ 0x5A);
  testing::write_bytes(dir / "bad.ckpt", bad);
  EXPECT_TLM_ERROR(load_checkpoint_meta(dir / "bad.ckpt"), "bad.ckpt", "checksum mismatch");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "bad.ckpt", [](std::string_view n) { return n == "f32"; }),
                   "checksum mismatch");
  // Files that cannot be mapped are read: an empty file, a directory, a missing file.
  testing::write_bytes(dir / "empty.ckpt", "");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "empty.ckpt"), "empty.ckpt", "is empty");
  EXPECT_TLM_ERROR(load_checkpoint(dir.path().string()), "it is a directory");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "missing.ckpt"), "cannot open", "missing.ckpt");
}

TEST(Checkpoint, NamesAreUniqueAndLookupsExplain) {
  Checkpoint ck = sample_checkpoint();
  EXPECT_TLM_ERROR(ck.add("f32", Tensor::zeros({1})), "duplicate tensor name 'f32'");
  EXPECT_TLM_ERROR(ck.get("nope"), "no tensor named 'nope'", "f32, f64");
}

TEST(Checkpoint, RefusesWrongMagicAndVersion) {
  TempDir dir;
  std::string good = encode_checkpoint(sample_checkpoint());

  testing::write_bytes(dir / "text.ckpt", "hello, this is not a checkpoint at all, really");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "text.ckpt"), "text.ckpt", "not a tlm checkpoint");
  testing::write_bytes(dir / "empty.ckpt", "");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "empty.ckpt"), "empty", "not a tlm checkpoint");
  EXPECT_TLM_ERROR(load_checkpoint(dir / "missing.ckpt"), "checkpoint: cannot open",
                   "missing.ckpt");

  std::string v = good;
  v[8] = 7;  // version 7
  testing::write_bytes(dir / "v.ckpt", v);
  EXPECT_TLM_ERROR(load_checkpoint(dir / "v.ckpt"), "unsupported format version 7",
                   "reads version 1");
}

TEST(Checkpoint, RefusesTruncationNamingSizes) {
  std::string good = encode_checkpoint(sample_checkpoint());
  const size_t n = good.size();
  for (size_t cut : {size_t{4}, size_t{8}, size_t{31}}) {
    EXPECT_TLM_ERROR(decode_checkpoint(good.substr(0, cut), "c"), "truncated",
                     fmt::format("{} bytes", cut).c_str(), "32-byte header");
  }
  for (size_t cut : {size_t{32}, size_t{40}, n / 2, n - 5, n - 1}) {
    EXPECT_TLM_ERROR(decode_checkpoint(good.substr(0, cut), "c"), "truncated",
                     fmt::format("expected {} bytes, file has {}", n, cut).c_str());
  }
  EXPECT_TLM_ERROR(decode_checkpoint(good + "xx", "c"), "corrupted", "trailing data");
}

TEST(Checkpoint, RefusesAFlippedByteInEveryRegion) {
  Checkpoint ck = sample_checkpoint();
  std::string good = encode_checkpoint(ck);
  const std::string meta = ck.meta.dump();
  // One offset inside each region of the layout.
  struct Case {
    const char* region;
    size_t offset;
    const char* message;
  };
  const size_t meta_at = 32, tensors_at = meta_at + meta.size();
  std::vector<Case> cases = {
      {"magic", 0, "not a tlm checkpoint"},
      {"magic end", 7, "not a tlm checkpoint"},
      {"version", 9, "unsupported format version"},
      {"reserved", 13, "checksum mismatch"},
      {"meta length", 24, "checksum mismatch"},
      {"meta json", meta_at + 3, "checksum mismatch"},
      {"tensor count", tensors_at, "checksum mismatch"},
      {"first name", tensors_at + 8 + 4, "checksum mismatch"},
      {"tensor data", good.size() / 2, "checksum mismatch"},
      {"last data byte", good.size() - 5, "checksum mismatch"},
      {"checksum", good.size() - 2, "checksum mismatch"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.region);
    std::string bad = good;
    bad[c.offset] = static_cast<char>(bad[c.offset] ^ 0x5A);
    EXPECT_TLM_ERROR(decode_checkpoint(bad, "c.ckpt"), "c.ckpt", c.message);
  }
  // The size field: the file no longer matches what the header promises.
  std::string bad = good;
  bad[16] = static_cast<char>(bad[16] ^ 0x01);
  EXPECT_ANY_THROW(decode_checkpoint(bad, "c.ckpt"));
  // Every corruption says "corrupted" (the checksum ones) in the message.
  bad = good;
  bad[good.size() / 3] ^= 1;
  EXPECT_TLM_ERROR(decode_checkpoint(bad, "c.ckpt"), "corrupted");
}

TEST(Checkpoint, RefusesMalformedJsonEvenWithAValidChecksum) {
  Checkpoint ck;
  ck.meta["k"] = "value";
  std::string bytes = encode_checkpoint(ck);
  const size_t at = bytes.find("\"value\"");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '{';  // {"k":{value"}
  const uint32_t crc = crc32_update(0, bytes.data(), bytes.size() - 4);
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  EXPECT_TLM_ERROR(decode_checkpoint(bytes, "c.ckpt"), "c.ckpt", "malformed JSON");
}

TEST(Checkpoint, FailedSaveKeepsThePreviousFile) {
  TempDir dir;
  Checkpoint old_ck;
  old_ck.meta["step"] = 1;
  old_ck.add("w", Tensor::ones({4}));
  save_checkpoint(dir / "c.ckpt", old_ck);
  const std::string old_bytes = testing::read_bytes(dir / "c.ckpt");

  Checkpoint big = sample_checkpoint();
  big.add("big", Tensor::zeros({1 << 19}));  // 2 MiB: more than one write(2) batch
  const size_t size = encode_checkpoint(big).size();
  for (uint64_t limit : {uint64_t{0}, uint64_t{10}, uint64_t{1} << 20, uint64_t(size - 1)}) {
    SCOPED_TRACE(limit);
    const DiskFull full{limit};
    EXPECT_TLM_ERROR(save_checkpoint(dir / "c.ckpt", big, &full), "checkpoint: cannot write", "c.ckpt",
                     "No space left on device");
  }
  EXPECT_EQ(testing::read_bytes(dir / "c.ckpt"), old_bytes);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"c.ckpt"});
  EXPECT_EQ(load_checkpoint(dir / "c.ckpt").meta["step"], 1);

  // Rename fails when the target is a directory: the temp file is still cleaned up.
  std::filesystem::create_directory(dir / "d.ckpt");
  EXPECT_TLM_ERROR(save_checkpoint(dir / "d.ckpt", big), "rename failed");
  EXPECT_EQ(dir.files(), (std::vector<std::string>{"c.ckpt", "d.ckpt"}));
}

TEST(Checkpoint, UnwritableOrMissingDirectoryThrows) {
  Checkpoint ck = sample_checkpoint();
  EXPECT_TLM_ERROR(save_checkpoint("/nonexistent_tlm_dir/sub/c.ckpt", ck),
                   "checkpoint: cannot write", "/nonexistent_tlm_dir/sub/c.ckpt",
                   "No such file or directory");
  // /proc refuses new files even for root, so this is a read-only directory everywhere.
  EXPECT_TLM_ERROR(save_checkpoint("/proc/tlm_test.ckpt", ck), "checkpoint: cannot write",
                   "/proc/tlm_test.ckpt");
}

TEST(Checkpoint, RngJsonIsValidated) {
  Rng rng(1);
  EXPECT_TLM_ERROR(rng_from_json(nlohmann::json::array(), rng), "rng state must be an object");
  nlohmann::json j = rng_to_json(rng);
  j["state"] = "xyz";
  EXPECT_TLM_ERROR(rng_from_json(j, rng), "'state' = 'xyz' is not hex");
}

}  // namespace
}  // namespace tlm::train
