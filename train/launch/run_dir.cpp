#include "train/launch/run_dir.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "tensor/error.h"
#include "train/data/probes.h"
#include "train/io/checkpoint.h"
#include "train/sys/file_io.h"

namespace tlm::train {

namespace fs = std::filesystem;

namespace {

const char* const kRunFiles[] = {"ckpt.bin", "ckpt_best.bin", "log.jsonl"};

// "step 1200" from a checkpoint's metadata, or why it could not be read.
std::string checkpoint_step(const std::string& path) {
  try {
    const nlohmann::json meta = load_checkpoint_meta(path);
    if (meta.contains("step") && meta.at("step").is_number_integer())
      return fmt::format("at step {}", meta.at("step").get<int64_t>());
    return "with no step";
  } catch (const std::exception& e) {
    return fmt::format("unreadable: {}", e.what());
  }
}

std::string hex32(uint32_t v) { return fmt::format("0x{:08x}", v); }

}  // namespace

std::vector<std::string> run_files(const std::string& out_dir) {
  std::vector<std::string> found;
  for (const char* name : kRunFiles) {
    const fs::path p = fs::path(out_dir) / name;
    std::error_code ec;
    if (fs::exists(p, ec)) found.push_back(p.string());
  }
  return found;
}

void prepare_out_dir(const std::string& out_dir, RunStart start, std::string_view command) {
  const fs::path ckpt = fs::path(out_dir) / "ckpt.bin";
  std::error_code ec;
  if (start == RunStart::Resume) {
    TLM_CHECK(fs::exists(ckpt, ec), "{} --resume: no checkpoint at {} (out_dir = {}; a new run "
              "is started without --resume)", command, ckpt.string(), out_dir);
    return;
  }
  const std::vector<std::string> found = run_files(out_dir);
  if (found.empty()) return;
  if (start == RunStart::Fresh) {
    std::string what;
    for (const std::string& f : found)
      what += fmt::format("{}{}{}", what.empty() ? "" : ", ", f,
                          fs::path(f).filename() == "log.jsonl" ? "" : " (" + checkpoint_step(f) + ")");
    TLM_FAIL("{}: out_dir {} already holds a run ({}); refusing to replace it. Continue it with "
             "--resume, replace it with --overwrite, or choose a new directory with --set "
             "out_dir=DIR", command, out_dir, what);
  }
  for (const std::string& f : found) {  // --overwrite: the user asked for a new run here
    TLM_CHECK(fs::remove(f, ec) || !ec, "{} --overwrite: cannot remove {}: {}", command, f,
              ec.message());
  }
}

std::string absolute_data_path(const std::string& data) {
  if (data.empty() || is_synthetic_data(data)) return data;
  std::error_code ec;
  fs::path abs = fs::absolute(data, ec);
  return ec ? data : abs.lexically_normal().string();
}

nlohmann::json data_fingerprint(const std::string& data, std::string_view text) {
  return {{"path", data}, {"bytes", text.size()}, {"crc32", hex32(crc32(text))}};
}

namespace {
bool well_formed(const nlohmann::json& fp) {
  return fp.is_object() && fp.contains("path") && fp.at("path").is_string() &&
         fp.contains("bytes") && fp.at("bytes").is_number_unsigned() && fp.contains("crc32") &&
         fp.at("crc32").is_string();
}
}  // namespace

void check_data_file_present(const nlohmann::json& recorded, const std::string& checkpoint) {
  if (!well_formed(recorded)) return;
  const std::string path = recorded.at("path").get<std::string>();
  if (path.empty() || is_synthetic_data(path)) return;
  std::error_code ec;
  TLM_CHECK(fs::is_regular_file(path, ec),
            "resume: the data file {} that {} was trained on is missing (moved or deleted?); "
            "put it back at that path ({} bytes, crc32 {})", path, checkpoint,
            recorded.at("bytes").get<uint64_t>(), recorded.at("crc32").get<std::string>());
}

void check_data_fingerprint(const nlohmann::json& recorded, std::string_view text,
                            const std::string& checkpoint) {
  if (!well_formed(recorded)) return;
  const std::string path = recorded.at("path").get<std::string>();
  const nlohmann::json now = data_fingerprint(path, text);
  TLM_CHECK(now.at("bytes") == recorded.at("bytes") && now.at("crc32") == recorded.at("crc32"),
            "resume: the data {} has changed since {} was written: it was {} bytes (crc32 {}), it "
            "is now {} bytes (crc32 {}); restore the original, or start a new run on the new text",
            path.empty() ? "(the built-in fortunes corpus)" : path, checkpoint,
            recorded.at("bytes").get<uint64_t>(), recorded.at("crc32").get<std::string>(),
            now.at("bytes").get<uint64_t>(), now.at("crc32").get<std::string>());
}

}  // namespace tlm::train
