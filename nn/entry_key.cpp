#include "nn/entry_key.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "tensor/error.h"

namespace tlm::nn {

namespace {

std::string fmt_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

std::string allowed(const EntryKey& k) {
  switch (k.type) {
    case KeyType::Int: return "integer " + k.range.str();
    case KeyType::Float: return "number " + k.range.str();
    case KeyType::Bool: return "true, false";
    default: return "any text";
  }
}

[[noreturn]] void bad(const EntryKey& k, std::string_view who, std::string_view shown,
                      std::string_view why) {
  TLM_FAIL("{}: {} = {} {} (allowed: {})", who, k.name, shown, why, allowed(k));
}

const char* type_name(KeyType t) {
  switch (t) {
    case KeyType::Int: return "an integer";
    case KeyType::Float: return "a number";
    case KeyType::Bool: return "a boolean";
    default: return "text";
  }
}

}  // namespace

bool KeyRange::contains(double v) const {
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string KeyRange::str() const {
  const bool lo_inf = std::isinf(lo), hi_inf = std::isinf(hi);
  if (lo_inf && hi_inf) return "any";
  if (hi_inf) return fmt::format("{} {}", lo_open ? ">" : ">=", fmt_number(lo));
  if (lo_inf) return fmt::format("{} {}", hi_open ? "<" : "<=", fmt_number(hi));
  return fmt::format("{}{}, {}{}", lo_open ? "(" : "[", fmt_number(lo), fmt_number(hi),
                     hi_open ? ")" : "]");
}

bool EntryKey::operator==(const EntryKey& o) const {
  return name == o.name && type == o.type && default_value == o.default_value && help == o.help &&
         range.lo == o.range.lo && range.hi == o.range.hi && range.lo_open == o.range.lo_open &&
         range.hi_open == o.range.hi_open;
}

const KeyValue* KeyValues::find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

KeyValue& KeyValues::slot(const std::string& name, KeyType type) {
  KeyValue& v = values_[name];
  if (v.index() != static_cast<size_t>(type)) {
    switch (type) {
      case KeyType::Int: v = int64_t{0}; break;
      case KeyType::Float: v = 0.0; break;
      case KeyType::Bool: v = false; break;
      default: v = std::string(); break;
    }
  }
  return v;
}

double KeyValues::number(std::string_view name) const {
  const KeyValue* v = find(name);
  TLM_CHECK(v != nullptr, "key '{}' has no value", name);
  if (const int64_t* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  TLM_CHECK(std::holds_alternative<double>(*v), "key '{}' is not a number", name);
  return std::get<double>(*v);
}

int64_t KeyValues::integer(std::string_view name) const {
  const KeyValue* v = find(name);
  TLM_CHECK(v != nullptr && std::holds_alternative<int64_t>(*v), "key '{}' {}", name,
            v ? "is not an integer" : "has no value");
  return std::get<int64_t>(*v);
}

bool KeyValues::flag(std::string_view name) const {
  const KeyValue* v = find(name);
  TLM_CHECK(v != nullptr && std::holds_alternative<bool>(*v), "key '{}' {}", name,
            v ? "is not a boolean" : "has no value");
  return std::get<bool>(*v);
}

const std::string& KeyValues::text(std::string_view name) const {
  const KeyValue* v = find(name);
  TLM_CHECK(v != nullptr && std::holds_alternative<std::string>(*v), "key '{}' {}", name,
            v ? "is not text" : "has no value");
  return std::get<std::string>(*v);
}

std::string key_value_str(const KeyValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) return fmt_number(x);
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else return fmt::format("{}", x);
      },
      v);
}

KeyValue parse_key_value(const EntryKey& k, std::string_view text, std::string_view who) {
  const std::string shown = fmt::format("'{}'", text);
  const char* b = text.data();
  const char* e = text.data() + text.size();
  switch (k.type) {
    case KeyType::Int: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || text.empty()) bad(k, who, shown, "is not an integer");
      if (!k.range.contains(static_cast<double>(v))) bad(k, who, shown, "is out of range");
      return v;
    }
    case KeyType::Float: {
      double v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || text.empty() || std::isnan(v))
        bad(k, who, shown, "is not a number");
      if (!std::isfinite(v)) bad(k, who, shown, "is not a finite number");
      if (!k.range.contains(v)) bad(k, who, shown, "is out of range");
      return v;
    }
    case KeyType::Bool:
      if (text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      bad(k, who, shown, "is not a boolean");
    default: return std::string(text);
  }
}

KeyValue checked_key_value(const EntryKey& k, const KeyValue& v, std::string_view who) {
  const std::string shown = key_value_str(v);
  if (k.type == KeyType::Float && std::holds_alternative<int64_t>(v))
    return checked_key_value(k, static_cast<double>(std::get<int64_t>(v)), who);
  if (v.index() != static_cast<size_t>(k.type))
    bad(k, who, shown, fmt::format("is not {}", type_name(k.type)));
  if (k.type == KeyType::Int || k.type == KeyType::Float) {
    const double x = k.type == KeyType::Int ? static_cast<double>(std::get<int64_t>(v))
                                            : std::get<double>(v);
    if (!std::isfinite(x)) bad(k, who, shown, "is not a finite number");
    if (!k.range.contains(x)) bad(k, who, shown, "is out of range");
  }
  return v;
}

KeyValues with_defaults(const std::vector<EntryKey>& keys, const KeyValues& given,
                        std::string_view who) {
  KeyValues out = given;
  for (const EntryKey& k : keys) {
    const KeyValue* v = given.find(k.name);
    out.set(k.name, v ? checked_key_value(k, *v, who) : parse_key_value(k, k.default_value, who));
  }
  return out;
}

}  // namespace tlm::nn
