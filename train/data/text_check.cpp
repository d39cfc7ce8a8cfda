#include "train/data/text_check.h"

#include <fmt/format.h>

#include "tensor/error.h"

namespace tlm::train {

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// at most U+10FFFF), or 0 when it is not one.
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
  if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
  if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
  return n;
}

bool control(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7F;
}

}  // namespace

TextStats text_stats(std::string_view s) {
  TextStats st;
  st.bytes = static_cast<int64_t>(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    if (n == 0 || (n == 1 && control(static_cast<unsigned char>(s[i])))) {
      if (st.first_offset < 0) st.first_offset = static_cast<int64_t>(i), st.first_byte = static_cast<unsigned char>(s[i]);
      ++st.non_text;
      ++i;
    } else {
      i += n;
    }
  }
  return st;
}

void check_text(std::string_view bytes, const std::string& source, double max_fraction) {
  const TextStats st = text_stats(bytes);
  if (st.bytes == 0) return;
  const double fraction = static_cast<double>(st.non_text) / static_cast<double>(st.bytes);
  TLM_CHECK(fraction <= max_fraction,
            "data: {} does not look like text: {:.1f} % of its {} bytes are invalid UTF-8 or "
            "control characters (the first: byte 0x{:02x} at offset {}); set allow_binary=true "
            "to train on it anyway", source, 100 * fraction, st.bytes, st.first_byte, st.first_offset);
}

}  // namespace tlm::train
