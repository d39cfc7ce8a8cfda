#include "train/data/probes.h"

#include <algorithm>

#include "tensor/view.h"
#include "train/data/char_tokenizer.h"

namespace tlm::train {

namespace {
constexpr int32_t kIgnore = -100;
constexpr int32_t kCopySymbols = 16;  // id 0 = separator, 1 .. 15 = symbols
// task:recall: id 0 = separator, 1 = filler, 2 .. 129 = the 128 key symbols.
constexpr int32_t kRecallFiller = 1;
constexpr int32_t kRecallKeys = 128;

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}
// m distinct values of 0 .. n-1, in random order (the first m steps of a Fisher-Yates shuffle).
std::vector<int32_t> draw_distinct(int32_t n, int64_t m, Rng& rng) {
  std::vector<int32_t> pool(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) pool[i] = i;
  for (int64_t i = 0; i < m; ++i)
    std::swap(pool[i], pool[i + static_cast<int64_t>(rng.randint(static_cast<uint64_t>(n - i)))]);
  pool.resize(static_cast<size_t>(m));
  return pool;
}
// The copy tasks' row: the separator (id 0) at k, then z[0 .. period) repeated to the end;
// x = z[0 .. T), targets z[t + 1] from the separator on (-100 before it). z has T + 1 entries.
void separator_then_copy(std::vector<int32_t>& z, int64_t k, int64_t period, int64_t T, int32_t* xr,
                         int32_t* yr) {
  z[k] = 0;
  for (int64_t i = k + 1; i <= T; ++i) z[i] = z[(i - k - 1) % period];
  for (int64_t t = 0; t < T; ++t) {
    xr[t] = z[t];
    yr[t] = t >= k ? z[t + 1] : kIgnore;
  }
}
}  // namespace

bool is_synthetic_data(const std::string& data) {
  return data.rfind("probe:", 0) == 0 || data.rfind("task:", 0) == 0;
}

SyntheticTask::SyntheticTask(const std::string& spec, int64_t block_size) : spec_(spec) {
  static const std::pair<const char*, Kind> kinds[] = {{"probe:position", Kind::PositionProbe},
                                                       {"probe:position_bos", Kind::PositionProbeBos},
                                                       {"task:copy", Kind::Copy},
                                                       {"task:recall", Kind::Recall}};
  const auto* it = std::find_if(std::begin(kinds), std::end(kinds),
                                [&](const auto& k) { return spec == k.first; });
  TLM_CHECK(it != std::end(kinds), "config: data = '{}' is not a built-in task (allowed: probe:position, "
            "probe:position_bos, task:copy, task:recall, or a text file)", spec);
  kind_ = it->second;
  TLM_CHECK(block_size >= 2 && block_size <= (1 << 20), "data = {}: block_size must be in "
            "[2, 2^20], got {}", spec, block_size);
  switch (kind_) {
    case Kind::Copy: vocab_ = kCopySymbols; break;
    case Kind::Recall: vocab_ = 2 + kRecallKeys; break;
    default: vocab_ = static_cast<int32_t>(std::max<int64_t>(2, block_size));
  }
}

Batch SyntheticTask::sample_batch(int64_t B, int64_t T, Rng& rng) const {
  TLM_CHECK(B >= 1 && T >= 2, "data = {}: batch {} x {} must be at least 1 x 2", spec_, B, T);
  TLM_CHECK(kind_ != Kind::Recall || T >= 3, "data = task:recall: context {} is too short (at "
            "least 3: a symbol, the separator, its copy)", T);
  std::vector<int32_t> x(static_cast<size_t>(B * T)), y(static_cast<size_t>(B * T));
  std::vector<int32_t> z(static_cast<size_t>(T + 1)), keys;
  for (int64_t b = 0; b < B; ++b) {
    int32_t* xr = x.data() + b * T;
    int32_t* yr = y.data() + b * T;
    switch (kind_) {
      case Kind::PositionProbe:
      case Kind::PositionProbeBos:
        for (int64_t t = 0; t < T; ++t) {
          xr[t] = 0;
          yr[t] = t < vocab_ ? static_cast<int32_t>(t) : kIgnore;
        }
        if (kind_ == Kind::PositionProbeBos) xr[0] = 1;
        break;
      case Kind::Copy: {  // k symbols, the separator, the symbols again, cyclically
        const int64_t lo = std::max<int64_t>(1, T / 8), hi = std::max<int64_t>(lo, T / 2);
        const int64_t k = lo + static_cast<int64_t>(rng.randint(static_cast<uint64_t>(hi - lo + 1)));
        for (int64_t i = 0; i < k; ++i) z[i] = 1 + static_cast<int32_t>(rng.randint(kCopySymbols - 1));
        separator_then_copy(z, k, k, T, xr, yr);
        break;
      }
      case Kind::Recall: {  // m distinct keys, g fillers, the separator, the m keys cyclically
        const int64_t m_max = std::min<int64_t>(kRecallKeys, (T - 1) / 2);
        const int64_t m_lo = std::min<int64_t>(2, m_max);
        const int64_t m = m_lo + static_cast<int64_t>(rng.randint(static_cast<uint64_t>(m_max - m_lo + 1)));
        const int64_t g = static_cast<int64_t>(rng.randint(static_cast<uint64_t>(T - 2 * m)));  // [0, T-2m-1]
        keys = draw_distinct(kRecallKeys, m, rng);
        const int64_t k = m + g;  // the separator's position; each key is copied k + 1 tokens later
        std::fill(z.begin(), z.end(), kRecallFiller);
        for (int64_t i = 0; i < m; ++i) z[i] = 2 + keys[i];
        separator_then_copy(z, k, m, T, xr, yr);
        break;
      }
    }
  }
  return Batch{Tensor::from_vector(x, {B, T}), Tensor::from_vector(y, {B, T})};
}

std::unique_ptr<Tokenizer> SyntheticTask::tokenizer() const {
  std::vector<std::string> symbols;
  if (kind_ == Kind::Copy) {
    symbols.push_back("|");
    for (int32_t i = 1; i < vocab_; ++i) symbols.push_back(std::string(1, static_cast<char>('a' + i - 1)));
  } else if (kind_ == Kind::Recall) {
    symbols.push_back("|");
    symbols.push_back(".");
    for (int32_t i = 0; i < kRecallKeys; ++i) symbols.push_back(utf8(0x100 + static_cast<uint32_t>(i)));
  } else {  // code points from U+0100 up
    for (int32_t i = 0; i < vocab_; ++i) {
      uint32_t cp = 0x100 + static_cast<uint32_t>(i);
      if (cp >= 0xD800) cp += 0x800;  // skip the surrogates
      symbols.push_back(utf8(cp));
    }
  }
  return std::make_unique<CharTokenizer>(std::move(symbols));
}

TokenAccuracy token_accuracy(const Tensor& logits, const Tensor& targets) {
  const int64_t V = logits.size(-1);
  Tensor l = logits.to(DType::F64).contiguous();
  const double* p = l.data<double>();
  std::vector<int32_t> y = targets.to_vector<int32_t>();
  TokenAccuracy a;
  for (size_t r = 0; r < y.size(); ++r) {
    if (y[r] == kIgnore) continue;
    const double* row = p + static_cast<int64_t>(r) * V;
    const int64_t best = std::max_element(row, row + V) - row;
    a.correct += best == y[r];
    ++a.count;
  }
  return a;
}

std::map<int64_t, TokenAccuracy> copy_accuracy_by_length(const Tensor& logits, const Tensor& x,
                                                         const Tensor& targets) {
  TLM_CHECK(logits.dim() == 3 && x.dim() == 2 && targets.shape() == x.shape() &&
                logits.size(0) == x.size(0) && logits.size(1) == x.size(1),
            "copy_accuracy_by_length: logits {}, x {}, targets {}: expected [B,T,V], [B,T], [B,T]",
            shape_str(logits.shape()), shape_str(x.shape()), shape_str(targets.shape()));
  const int64_t B = x.size(0), T = x.size(1);
  const std::vector<int32_t> xs = x.contiguous().to_vector<int32_t>();
  std::map<int64_t, TokenAccuracy> out;
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = xs.data() + b * T;
    const int64_t k = std::find(row, row + T, 0) - row;  // id 0 = the separator
    TLM_CHECK(k < T, "copy_accuracy_by_length: row {} of x has no separator (id 0)", b);
    TokenAccuracy a = token_accuracy(views::narrow(logits, 0, b, 1), views::narrow(targets, 0, b, 1));
    out[k].correct += a.correct;
    out[k].count += a.count;
  }
  return out;
}

Tensor first_copy_targets(const Tensor& x, const Tensor& targets) {
  TLM_CHECK(x.dim() == 2 && targets.shape() == x.shape(), "first_copy_targets: x {}, targets {}: "
            "expected two [B,T]", shape_str(x.shape()), shape_str(targets.shape()));
  const int64_t B = x.size(0), T = x.size(1);
  const std::vector<int32_t> xs = x.contiguous().to_vector<int32_t>();
  std::vector<int32_t> y = targets.contiguous().to_vector<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = xs.data() + b * T;
    const int64_t k = std::find(row, row + T, 0) - row;
    TLM_CHECK(k < T, "first_copy_targets: row {} of x has no separator (id 0)", b);
    const int64_t m = std::find_if(row, row + k, [](int32_t v) { return v <= kRecallFiller; }) - row;  // the keys
    for (int64_t t = 0; t < T; ++t)
      if (t < k || t >= k + m) y[static_cast<size_t>(b * T + t)] = kIgnore;
  }
  return Tensor::from_vector(y, {B, T});
}

}  // namespace tlm::train
