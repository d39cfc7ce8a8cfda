// The block types GPTConfig::block selects (nn/block.h): one Registry entry each, with the
// config keys it reads beyond the common ones and its factory. The built-in ones are the table
// in block_registry.cpp; a block type defined elsewhere registers itself with one line,
//
//   static const nn::RegisterBlock kParallel({"parallel", "x + Attn(LN(x)) + MLP(LN(x))", {},
//                                             &make_parallel_block});
//
// (examples/new_block_parallel.cpp), after which `block = parallel` builds it, in the library
// and in the config's choices (train/io/config.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/block.h"
#include "nn/registry.h"

namespace tlm::nn {

struct GPTConfig;

// Block `layer` (0 .. n_layer-1) of a model with config c. Draws its init from rng.
using BlockFactory = std::function<std::unique_ptr<Block>(const GPTConfig& c, int64_t layer, Rng& rng)>;

struct BlockType {
  std::string name;               // the value of the config key `block`
  std::string help;               // one line for `tlm train --keys`
  std::vector<std::string> keys;  // config keys only this type reads (gau: gau_expansion, ...)
  BlockFactory make;
  // Cross-key checks of this type (throw tlm::Error naming the key); may be empty.
  std::function<void(const GPTConfig& c)> check = {};
};

// The registry (built-ins first: transformer, gau).
Registry<BlockType>& block_registry();

// Registers a block type at static initialisation (a file-scope constant of this type).
struct RegisterBlock {
  explicit RegisterBlock(BlockType type) { block_registry().add(std::move(type)); }
};

}  // namespace tlm::nn
