#include "train/run/checkpoint_info.h"

#include <fmt/format.h>


#include "tensor/error.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/sys/file_io.h"
#include "train/data/tokenizer.h"
#include "train/sys/json_util.h"

namespace tlm::train {

nlohmann::json checkpoint_info(const std::string& path) {
  const std::string bytes = read_file(path, "checkpoint");
  Checkpoint ck = decode_checkpoint(bytes, path);  // refuses a damaged file, with the reason
  TLM_CHECK(ck.meta.contains("config") && ck.meta.contains("step"),
            "checkpoint {}: not a tlm training checkpoint (no config or step)", path);
  uint32_t file_crc = 0;  // the last 4 bytes, little-endian (train/io/checkpoint.h)
  for (size_t i = 0; i < 4; ++i)
    file_crc |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[bytes.size() - 4 + i])) << (8 * i);
  int64_t params = 0, optim_values = 0;
  for (const auto& [name, t] : ck.tensors) {
    if (name.rfind("model.", 0) == 0) params += t.numel();
    else if (name.rfind("optim.", 0) == 0) optim_values += t.numel();
  }
  nlohmann::json j = {{"path", path},
                      {"bytes", bytes.size()},
                      {"file_crc32", fmt::format("0x{:08x}", file_crc)},
                      {"step", ck.meta.at("step")},
                      {"params", params},
                      {"optimizer", json_string_or(ck.meta, "optimizer", "?")},
                      {"optimizer_state_values", optim_values}};
  for (const char* k : {"skipped_steps", "losses", "best_val_loss", "data_file", "backbone"})
    if (ck.meta.contains(k)) j[k] = ck.meta.at(k);
  if (ck.meta.contains("tokenizer") && ck.meta.at("tokenizer").is_object()) {
    j["tokenizer"] = json_string_or(ck.meta.at("tokenizer"), "type", "?");
    j["vocab_size"] = load_tokenizer(ck.meta.at("tokenizer"))->vocab_size();
  }
  // Every key, the checkpoint's values over the defaults (older checkpoints lack newer keys).
  j["config"] = TrainConfig::from_json(ck.meta.at("config"), path).to_json();
  return j;
}

std::string checkpoint_info_text(const nlohmann::json& j) {
  auto num = [](const nlohmann::json& v) {
    return v.is_number() ? fmt::format("{:.4f}", v.get<double>()) : std::string("-");
  };
  std::string s = fmt::format("checkpoint {} ({} bytes, crc32 {})\n", j.at("path").get<std::string>(),
                              j.at("bytes").get<uint64_t>(), j.at("file_crc32").get<std::string>());
  s += fmt::format("step         {}", j.at("step").dump());
  if (j.contains("skipped_steps") && j.at("skipped_steps") != 0) s += fmt::format(" ({} skipped)", j.at("skipped_steps").dump());
  s += "\n";
  if (j.contains("losses") && j.at("losses").is_object()) {
    const nlohmann::json& l = j.at("losses");
    s += fmt::format("losses       train {}, val {} (evaluated at step {})\n", num(l.value("train_loss", nlohmann::json())),
                     num(l.value("val_loss", nlohmann::json())), l.value("step", nlohmann::json()).dump());
  } else {
    s += "losses       - (no evaluation recorded)\n";
  }
  if (j.contains("best_val_loss")) s += fmt::format("best val     {}\n", num(j.at("best_val_loss")));
  s += fmt::format("params       {} ({} optimizer state values, {})\n", j.at("params").dump(),
                   j.at("optimizer_state_values").dump(), j.at("optimizer").get<std::string>());
  if (j.contains("tokenizer"))
    s += fmt::format("tokenizer    {}{}\n", j.at("tokenizer").get<std::string>(),
                     j.contains("vocab_size") ? fmt::format(", vocab {}", j.at("vocab_size").dump()) : "");
  if (j.contains("data_file") && j.at("data_file").is_object()) {
    const nlohmann::json& d = j.at("data_file");
    const std::string p = d.value("path", "");
    s += fmt::format("data         {} ({} bytes, crc32 {})\n", p.empty() ? "(the built-in fortunes corpus)" : p,
                     d.value("bytes", nlohmann::json()).dump(), d.value("crc32", "?"));
  }
  if (j.contains("backbone")) s += fmt::format("backbone     {}\n", j.at("backbone").dump());
  s += "config\n";
  const nlohmann::json defaults = TrainConfig().to_json();
  for (const ConfigKey& k : config_keys()) {
    // A key newer than the checkpoint (nesterov, ...) is at its default there.
    const nlohmann::json& v =
        j.at("config").contains(k.name) ? j.at("config").at(k.name) : defaults.at(k.name);
    s += fmt::format("  {:28s} {}{}\n", k.name, v.is_string() ? v.get<std::string>() : v.dump(),
                     v == defaults.at(k.name) ? "" : "   *");
  }
  s += "  (* differs from the default)\n";
  return s;
}

}  // namespace tlm::train
