// EntryKey: a config key that a registry entry (nn/registry.h) reads -- a loss's hyperparameter,
// an optimizer's betas, a schedule's warmup -- with everything the config's key table needs to
// parse, check and document it (name, type, default, range, one-line help). KeyValues: the
// values of such keys by name, which is what the entry's factory reads.
//
//   const EntryKey kGamma = EntryKey::number("focal_gamma", "2.0",
//       "loss = focal: gamma of -alpha (1-p_t)^gamma log p_t", KeyRange::at_least(0));
//   KeyValues v = with_defaults({kGamma}, {}, "loss focal");   // focal_gamma = 2
//   double gamma = v.number("focal_gamma");
//
// train/io/config.cpp appends the keys of every registered entry to its table, so `--set
// focal_gamma=1` parses, checks and documents the key without the config naming it.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tlm::nn {

// The allowed interval of a number: [lo, hi], either end open or infinite.
struct KeyRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;  // open: the bound itself is not allowed
  bool contains(double v) const;
  std::string str() const;  // "[0, 1)", ">= 1", "> 0"

  static KeyRange at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, false}; }
  static KeyRange above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true, false}; }
  static KeyRange closed(double lo, double hi) { return {lo, hi, false, false}; }
  static KeyRange half_open(double lo, double hi) { return {lo, hi, false, true}; }
  static KeyRange open(double lo, double hi) { return {lo, hi, true, true}; }
};

enum class KeyType { Int, Float, Bool, String };

struct EntryKey {
  std::string name;           // the config key ("focal_gamma")
  KeyType type = KeyType::Float;
  std::string default_value;  // as it would be written after --set key=
  std::string help;           // one line for docs/reference.md and `tlm train --keys`
  KeyRange range{};           // Int and Float keys

  static EntryKey number(std::string name, std::string def, std::string help, KeyRange range) {
    return {std::move(name), KeyType::Float, std::move(def), std::move(help), range};
  }
  static EntryKey integer(std::string name, std::string def, std::string help, KeyRange range) {
    return {std::move(name), KeyType::Int, std::move(def), std::move(help), range};
  }
  static EntryKey flag(std::string name, std::string def, std::string help) {
    return {std::move(name), KeyType::Bool, std::move(def), std::move(help), {}};
  }
  bool operator==(const EntryKey& o) const;  // same name, type, default, help and range
};

using KeyValue = std::variant<int64_t, double, bool, std::string>;

class KeyValues {
 public:
  KeyValues() = default;
  KeyValues(std::initializer_list<std::pair<const std::string, KeyValue>> items) : values_(items) {}

  KeyValues& set(const std::string& name, KeyValue v) {
    values_[name] = std::move(v);
    return *this;
  }
  const KeyValue* find(std::string_view name) const;
  // The value of `name`, created as the type's zero if absent (or of another type).
  KeyValue& slot(const std::string& name, KeyType type);
  // The value of a key of that type; an absent key or another type is a tlm::Error naming it.
  double number(std::string_view name) const;  // a Float key (an Int key converts)
  int64_t integer(std::string_view name) const;
  bool flag(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  const std::map<std::string, KeyValue, std::less<>>& items() const { return values_; }

 private:
  std::map<std::string, KeyValue, std::less<>> values_;
};

// `text` as a value of key k ("0.1" for a Float key), or a tlm::Error naming `who`, the key,
// the text and what is allowed. Checks the range.
KeyValue parse_key_value(const EntryKey& k, std::string_view text, std::string_view who);
// v has k's type (an Int value is accepted for a Float key and converted), is finite and in
// range, else a tlm::Error "who: key = value is out of range (allowed: ...)".
KeyValue checked_key_value(const EntryKey& k, const KeyValue& v, std::string_view who);
// The values of `keys`: those in `given` (checked), the others at their defaults. Values in
// `given` for keys not in `keys` are kept as they are (another entry's keys, say).
KeyValues with_defaults(const std::vector<EntryKey>& keys, const KeyValues& given,
                        std::string_view who);
std::string key_value_str(const KeyValue& v);  // 0.1, 100, true, text

}  // namespace tlm::nn
