#include "nn/block_registry.h"

#include <cmath>

#include "nn/gau.h"
#include "nn/gpt.h"
#include "nn/transformer_block.h"

namespace tlm::nn {

namespace {

std::unique_ptr<Block> make_transformer(const GPTConfig& c, int64_t layer, Rng& rng) {
  return std::make_unique<TransformerBlock>(block_options(c, layer), rng);
}

std::unique_ptr<Block> make_gau(const GPTConfig& c, int64_t layer, Rng& rng) {
  GAUBlockOptions o;
  o.block = block_options(c, layer);
  o.expansion_dim =
      std::max<int64_t>(1, std::llround(c.gau_expansion * static_cast<double>(c.n_embd)));
  o.attn_dim = c.gau_attn_size;
  return std::make_unique<GAUBlock>(o, rng);
}

void check_gau(const GPTConfig& c) {
  TLM_CHECK(parse<Pos>(c.pos) != Pos::Rope || c.gau_attn_size % 2 == 0,
            "GPTConfig.gau_attn_size: pos = rope needs an even attention size, got {}",
            c.gau_attn_size);
}

}  // namespace

Registry<BlockType>& block_registry() {
  static Registry<BlockType> registry = [] {
    Registry<BlockType> r("block");
    r.add({"transformer", "attention + MLP", {}, &make_transformer});
    r.add({"gau", "FLASH's gated attention unit GAU (arXiv:2202.10447)",
           {"gau_expansion", "gau_attn_size"}, &make_gau, &check_gau});
    return r;
  }();
  return registry;
}

}  // namespace tlm::nn
