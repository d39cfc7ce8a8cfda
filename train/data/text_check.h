// Is this text? A training file that is mostly bytes outside UTF-8 text (invalid UTF-8, or
// control characters other than tab, newline, carriage return and form feed) is almost always a
// mistake (a binary, a compressed file, /dev/urandom), so a run refuses it unless
// allow_binary = true.
//
//   TextStats s = text_stats(bytes);   // s.non_text / s.bytes: the fraction that is not text
//   check_text(bytes, "input.txt");    // error: input.txt does not look like text: 71.2 % ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlm::train {

struct TextStats {
  int64_t bytes = 0;
  int64_t non_text = 0;       // bytes of invalid UTF-8 sequences and control characters
  int64_t first_offset = -1;  // the first such byte: offset and value
  unsigned char first_byte = 0;
};

TextStats text_stats(std::string_view bytes);

// Refuses (tlm::Error naming `source`, the fraction, the first offending byte as 0x.. and
// allow_binary) when more than `max_fraction` of the bytes are not text.
void check_text(std::string_view bytes, const std::string& source, double max_fraction = 0.2);

}  // namespace tlm::train
