// Registry: a family of named choices (block types, ...), each entry with its help line, the
// config keys it reads and its factory. One template for every family, so a new choice is one
// entry wherever it lives -- in the library's table or in a file of its own:
//
//   struct BlockType { std::string name, help; std::vector<std::string> keys; BlockFactory make; };
//   Registry<BlockType>& blocks = block_registry();
//   const BlockType& t = blocks.get("gau");      // unknown name: an error listing the names
//   blocks.add({"parallel", "x + Attn(LN x) + MLP(LN x)", {}, &make_parallel});
//
// Entries keep the order they were added in (names() lists them so, the config's choice lists
// and help follow it). Not thread-safe: add entries before threads start (at static
// initialisation or at the start of main).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "nn/entry_key.h"
#include "tensor/error.h"

namespace tlm::nn {

template <class Entry>  // Entry has a std::string `name`
class Registry {
 public:
  // key: the config key the names are values of ("block"); it heads every error.
  explicit Registry(std::string key) : key_(std::move(key)) {}

  void add(Entry entry) {
    TLM_CHECK(!entry.name.empty(), "{}: a registry entry needs a name", key_);
    TLM_CHECK(find(entry.name) == nullptr, "{}: '{}' is registered twice", key_, entry.name);
    entries_.push_back(std::move(entry));
  }
  const Entry* find(const std::string& name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }
  const Entry& get(const std::string& name) const {
    const Entry* e = find(name);
    TLM_CHECK(e != nullptr, "{}: '{}' is not one of {}", key_, name, fmt::join(names(), "|"));
    return *e;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.name);
    return out;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& key() const { return key_; }

 private:
  std::string key_;
  std::vector<Entry> entries_;
};

// The config keys the entries of `registry` name (Entry::keys, a std::vector<EntryKey>), each
// once, in entry order. Entries may share a key (adamw and lion read beta1) only if they
// describe it identically; otherwise a tlm::Error names the key and both entries.
template <class Entry>
std::vector<EntryKey> entry_keys(const Registry<Entry>& registry) {
  std::vector<EntryKey> out;
  std::vector<std::string> owner;
  for (const Entry& e : registry.entries())
    for (const EntryKey& k : e.keys) {
      auto it = std::find_if(out.begin(), out.end(), [&](const EntryKey& o) { return o.name == k.name; });
      if (it == out.end()) {
        out.push_back(k);
        owner.push_back(e.name);
        continue;
      }
      TLM_CHECK(*it == k, "{}: key '{}' is described differently by '{}' and '{}'", registry.key(),
                k.name, owner[it - out.begin()], e.name);
    }
  return out;
}

}  // namespace tlm::nn
