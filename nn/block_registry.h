// The block types GPTConfig::block selects (nn/block.h): one Registry entry each, with the
// config keys it reads beyond the common ones (EntryKeys, as a loss names its hyperparameters),
// its factory, an optional check across keys and an optional size for the memory estimates.
// A built-in type's entry is defined in its own file pair (nn/gau.cpp:gau_block_type) and
// listed with one line in block_registry.cpp; a block type defined elsewhere registers itself
// with one line,
//
//   static const nn::RegisterBlock kParallel({"parallel", "x + Attn(LN(x)) + MLP(LN(x))", {},
//                                             &make_parallel_block});
//
// (examples/new_block_parallel.cpp), after which `block = parallel` builds it, in the library
// and in the config's choices (train/io/config.cpp). The keys of every entry are config keys
// of group "model" (listed right after `block`, so they define the model: saved in checkpoints
// and refused on a resume that changes them); their values reach the factory in GPTConfig::keys.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/block.h"
#include "nn/entry_key.h"
#include "nn/registry.h"

namespace tlm::nn {

struct GPTConfig;

// Block `layer` (0 .. n_layer-1) of a model with config c. Draws its init from rng.
using BlockFactory = std::function<std::unique_ptr<Block>(const GPTConfig& c, int64_t layer, Rng& rng)>;

// One block of a config, counted without building it: what the memory estimates
// (train/launch/memory_estimate.h, train/tune/tune_memory.h) and `tlm info` need.
struct BlockShape {
  int64_t params = 0;                                // parameters of one block
  std::vector<std::pair<int64_t, int64_t>> linears;  // (in, out) of each Linear, for_each_linear's order
  double attention_flops = 0;   // Block::attention_flops_per_token(block_size)
  // Floats per token the block keeps for backward: `half` is what 16-bit precision stores in
  // 2 bytes, `full` stays fp32 (attention probabilities, statistics, dropout masks).
  double saved_half = 0, saved_full = 0;
  int64_t rope_dim = 0;  // the size of the vectors RoPE rotates (the head size)
};

struct BlockType {
  std::string name;            // the value of the config key `block`
  std::string help;            // one line for `tlm train --keys`
  std::vector<EntryKey> keys;  // config keys only this type reads (gau: gau_expansion, ...)
  BlockFactory make;
  // Cross-key checks of this type (throw tlm::Error naming the key); may be empty. Run by
  // GPTConfig::validate and by the config (train/io/config.cpp) when it is set.
  std::function<void(const GPTConfig& c)> check = {};
  // The block's size; empty: the Transformer block's (attention + MLP of the same options).
  std::function<BlockShape(const GPTConfig& c)> shape = {};
};

// The registry (built-ins first: transformer, gau).
Registry<BlockType>& block_registry();

// The values of the keys of c's block type: c.keys where set (checked against the key's
// range), the key's default otherwise. Read once, when a block is built.
KeyValues block_keys(const GPTConfig& c);

// The size of one block of c's type (its entry's shape, or the Transformer block's).
BlockShape block_shape(const GPTConfig& c);

// Registers a block type at static initialisation (a file-scope constant of this type).
struct RegisterBlock {
  explicit RegisterBlock(BlockType type) { block_registry().add(std::move(type)); }
};

}  // namespace tlm::nn
