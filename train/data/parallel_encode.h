// Encoding a large text on several threads with exactly the ids of one encode() call.
//
//   std::vector<int32_t> ids = encode_parallel(tok, text, /*threads=*/2);  // == tok.encode(text)
//
// The text is cut into chunks of about `chunk_bytes` at safe cuts, each chunk is encoded on its
// own (tok.encode, whose pre-token -> ids cache then serves the whole chunk) by one of `threads`
// threads, and the chunks' ids are joined in order.
//
// A safe cut is a position p with text[p-1] == '\n' and both text[p-2] and text[p] printable
// ASCII (0x21..0x7e): "word\nWord". No pre-token of any of the tokenizers crosses it, so the
// ids of the two sides joined are the ids of the whole:
//   - char: every symbol is one character (a cut between two ASCII bytes splits none);
//   - bpe (tlm's words): "\n" ends a whitespace run that is a piece of its own (the run is one
//     byte long and is not a space, so it lends nothing to the next word), and no other piece
//     holds a newline; the next piece starts at p either way;
//   - gpt2 (the GPT-2 regex): "\n" is matched by \s+(?!\S) or \s+ as the one-character run
//     between two non-space characters, never joined to what precedes or follows.
// A text without such cuts is encoded as one chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "train/data/tokenizer.h"

namespace tlm::train {

// The first safe cut at or after `from` (text.size() when there is none).
size_t next_safe_cut(std::string_view text, size_t from);

// Chunks of at least `chunk_bytes` (the last may be shorter), cut at safe cuts; they
// concatenate to `text`.
std::vector<std::string_view> split_at_safe_cuts(std::string_view text, size_t chunk_bytes);

// tok.encode(text), computed on `threads` threads (1: the calling thread only).
std::vector<int32_t> encode_parallel(const Tokenizer& tok, std::string_view text, int threads,
                                     size_t chunk_bytes = size_t{4} << 20);

}  // namespace tlm::train
