#include "train/data/unicode_classes.h"

#include <algorithm>

namespace tlm::train::unicode {
namespace {

bool in_ranges(const CodeRange* ranges, size_t count, char32_t c) {
  // The first range whose last >= c; c is in the class when that range starts at or below c.
  const CodeRange* end = ranges + count;
  const CodeRange* r =
      std::lower_bound(ranges, end, c, [](const CodeRange& a, char32_t v) { return a.last < v; });
  return r != end && r->first <= c;
}

}  // namespace

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(kLetterRanges, kLetterRangesCount, c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(kNumberRanges, kNumberRangesCount, c);
}

bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return in_ranges(kSpaceRanges, kSpaceRangesCount, c);
}

char32_t decode_utf8(std::string_view s, size_t pos, size_t& len) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  char32_t c, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2, c = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) n = 3, c = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) n = 4, c = b0 & 0x07, min = 0x10000;
  else return kInvalid;  // a continuation byte, C0/C1 (overlong) or F5..FF
  if (pos + n > s.size()) return kInvalid;
  for (size_t i = 1; i < n; ++i) {
    const unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return kInvalid;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return kInvalid;
  len = n;
  return c;
}

}  // namespace tlm::train::unicode
