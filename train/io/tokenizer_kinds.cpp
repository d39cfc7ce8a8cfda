#include "train/io/tokenizer_kinds.h"

#include "tensor/error.h"

namespace tlm::train {

nn::Registry<TokenizerKind>& tokenizer_kinds() {
  // Fields: name, help, keys, check, vocab_key.
  static nn::Registry<TokenizerKind> registry = [] {
    nn::Registry<TokenizerKind> r("tokenizer");
    r.add({"char", "one id per character of the data", {}});
    r.add({"bpe", "byte-level BPE trained on the data",
           {nn::EntryKey::integer("bpe_vocab_size", "512",
                                  "BPE vocabulary: 256 bytes + merges (tokenizer = bpe)",
                                  nn::KeyRange::closed(256, 1 << 20))},
           {},
           "bpe_vocab_size"});
    r.add({"gpt2", "GPT-2's tokenizer, read from tokenizer_dir (not trained)",
           {nn::EntryKey{"tokenizer_dir", nn::KeyType::String, "",
                         "tokenizer = gpt2: the directory of vocab.json + merges.txt (or "
                         "encoder.json + vocab.bpe)",
                         {}}},
           [](const nn::KeyValues& v) {
             TLM_CHECK(!v.text("tokenizer_dir").empty(),
                       "config: tokenizer = gpt2 needs tokenizer_dir = DIR (holding vocab.json "
                       "and merges.txt)");
           }});
    return r;
  }();
  return registry;
}

}  // namespace tlm::train
