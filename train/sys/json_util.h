// Reading untrusted JSON (tokenizer files, checkpoint metadata) without nlohmann exceptions:
// j.value("type", "") throws nlohmann::type_error when "type" holds a number, so a corrupt file
// would escape as something other than tlm::Error.
//
//   TLM_CHECK(json_string_or(j, "type") == "bpe", "bpe tokenizer: ...");
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tlm::train {

// j[key] when j is an object holding a string there; otherwise `fallback`.
inline std::string json_string_or(const nlohmann::json& j, const char* key,
                                  const std::string& fallback = "") {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace tlm::train
