#include "train/io/model_config.h"

namespace tlm::train {

nn::GPTConfig unvalidated_gpt_config(const TrainConfig& cfg) {
  nn::GPTConfig g;
  g.block_size = cfg.block_size;
  g.n_layer = cfg.n_layer;
  g.n_head = cfg.n_head;
  g.n_embd = cfg.n_embd;
  g.dropout = cfg.dropout;
  g.bias = cfg.bias;
  g.norm = cfg.norm;
  g.pos = cfg.pos;
  g.ffn = cfg.ffn;
  g.norm_type = cfg.norm_type;
  g.tie_weights = cfg.tie_weights;
  g.block = cfg.block;
  g.attn = cfg.attn;
  g.attn_scale = cfg.attn_scale;
  g.window = cfg.window;
  g.layout = cfg.layout;
  g.attn_kernel = cfg.attn_kernel;
  g.activation_checkpointing = cfg.activation_checkpointing == ActivationCheckpointing::Blocks;
  for (const nn::EntryKey& k : nn::gpt_entry_keys())
    if (const nn::KeyValue* v = cfg.entry_values.find(k.name)) g.keys.set(k.name, *v);
  return g;
}

nn::GPTConfig gpt_config(const TrainConfig& cfg, int64_t vocab_size) {
  nn::GPTConfig g = unvalidated_gpt_config(cfg);
  g.vocab_size = vocab_size;
  g.validate();
  return g;
}

}  // namespace tlm::train
