#include "train/data/data.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/error.h"
#include "train/sys/file_io.h"

namespace tlm::train {

std::string_view split_name(Split s) { return s == Split::Train ? "train" : "val"; }

std::string read_text_file(const std::string& path) {
  std::string text = read_file(path, "data");
  TLM_CHECK(!text.empty(), "data: '{}' is empty (0 bytes): nothing to train on", path);
  return text;
}

Dataset::Dataset(std::vector<int32_t> tokens, double train_fraction, std::string source)
    : source_(std::move(source)) {
  TLM_CHECK(train_fraction > 0.0 && train_fraction < 1.0,
            "data: train fraction {} of '{}' must be in (0, 1)", train_fraction, source_);
  TLM_CHECK(!tokens.empty(), "data: '{}' has no tokens", source_);
  const auto n = static_cast<double>(tokens.size());
  const auto n_train = static_cast<size_t>(std::floor(train_fraction * n));
  val_.assign(tokens.begin() + static_cast<std::ptrdiff_t>(n_train), tokens.end());
  tokens.resize(n_train);
  train_ = std::move(tokens);
}

Dataset::Dataset(MappedTokens train, MappedTokens val, std::string source)
    : source_(std::move(source)),
      mapped_train_(std::make_shared<const MappedTokens>(std::move(train))),
      mapped_val_(std::make_shared<const MappedTokens>(std::move(val))) {
  TLM_CHECK(mapped_train_->size() > 0, "data: '{}' has no tokens", mapped_train_->path());
}

const std::vector<int32_t>& Dataset::tokens(Split s) const {
  TLM_CHECK(!mapped(), "data: the {} split of '{}' is memory-mapped, not held in memory; read "
            "its ids with Dataset::read", split_name(s), source_);
  return s == Split::Train ? train_ : val_;
}

int64_t Dataset::size(Split s) const {
  if (mapped()) return (s == Split::Train ? mapped_train_ : mapped_val_)->size();
  return static_cast<int64_t>((s == Split::Train ? train_ : val_).size());
}

std::vector<int32_t> Dataset::read(Split s, int64_t from, int64_t n) const {
  TLM_CHECK(from >= 0 && n >= 0 && from <= size(s) - n,
            "data: ids [{}, {}) are outside the {} split of '{}' ({} ids)", from, from + n,
            split_name(s), source_, size(s));
  std::vector<int32_t> out(static_cast<size_t>(n));
  if (mapped()) {
    (s == Split::Train ? mapped_train_ : mapped_val_)->read(from, n, out.data());
  } else {
    const auto& d = s == Split::Train ? train_ : val_;
    std::copy_n(d.begin() + from, n, out.begin());
  }
  return out;
}

namespace {
std::vector<int32_t> tokenize(std::string_view text, const Tokenizer& tok, const std::string& source) {
  try {
    return tok.encode(text);
  } catch (const Error& e) {
    TLM_FAIL("data: cannot tokenize '{}' with the {} tokenizer: {}", source, tok.name(), e.what());
  }
}
}  // namespace

Dataset::Dataset(std::string_view text, const Tokenizer& tok, double train_fraction,
                 std::string source)
    : Dataset(tokenize(text, tok, source), train_fraction, source) {}

Dataset Dataset::from_file(const std::string& path, const Tokenizer& tok, double train_fraction) {
  return Dataset(read_text_file(path), tok, train_fraction, path);
}

void Dataset::check_context(int64_t block_size) const {
  TLM_CHECK(block_size > 0, "data: block_size must be positive, got {}", block_size);
  for (Split s : {Split::Train, Split::Val}) {
    TLM_CHECK(size(s) >= block_size + 1,
              "data: {} split of '{}' has {} tokens, fewer than block_size+1 = {}",
              split_name(s), source_, size(s), block_size + 1);
  }
}

Batch Dataset::sample_batch(Split split, int64_t batch_size, int64_t block_size, Rng& rng) const {
  TLM_CHECK(batch_size > 0 && block_size > 0,
            "data: batch_size and block_size must be positive, got {} and {}", batch_size,
            block_size);
  const auto n = size(split);
  TLM_CHECK(n >= block_size + 1, "data: {} split of '{}' has {} tokens, fewer than block_size+1 = {}",
            split_name(split), source_, n, block_size + 1);
  Batch b{Tensor::empty({batch_size, block_size}, DType::I32),
          Tensor::empty({batch_size, block_size}, DType::I32)};
  int32_t* x = b.x.data<int32_t>();
  int32_t* y = b.y.data<int32_t>();
  const size_t row = static_cast<size_t>(block_size) * sizeof(int32_t);
  const MappedTokens* map = split == Split::Train ? mapped_train_.get() : mapped_val_.get();
  std::vector<int32_t> window(map ? static_cast<size_t>(block_size + 1) : 0);
  for (int64_t r = 0; r < batch_size; ++r) {
    const auto i = static_cast<int64_t>(rng.randint(static_cast<uint64_t>(n - block_size)));
    const int32_t* w;
    if (map) {
      map->read(i, block_size + 1, window.data());
      w = window.data();
    } else {
      w = (split == Split::Train ? train_ : val_).data() + i;
    }
    std::memcpy(x + r * block_size, w, row);
    std::memcpy(y + r * block_size, w + 1, row);
  }
  return b;
}

}  // namespace tlm::train
