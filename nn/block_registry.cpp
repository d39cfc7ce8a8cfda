#include "nn/block_registry.h"

#include "nn/gau.h"
#include "nn/gpt.h"
#include "nn/transformer_block.h"

namespace tlm::nn {

Registry<BlockType>& block_registry() {
  static Registry<BlockType> registry = [] {
    Registry<BlockType> r("block");
    r.add(transformer_block_type());
    r.add(gau_block_type());
    return r;
  }();
  return registry;
}

KeyValues block_keys(const GPTConfig& c) {
  return with_defaults(block_registry().get(c.block).keys, c.keys, "GPTConfig: block = " + c.block);
}

BlockShape block_shape(const GPTConfig& c) {
  const BlockType& type = block_registry().get(c.block);
  return type.shape ? type.shape(c) : transformer_block_shape(c);
}

}  // namespace tlm::nn
