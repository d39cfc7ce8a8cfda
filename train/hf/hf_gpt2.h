// GPT-2 in the Hugging Face directory layout, in and out of tlm checkpoints.
//
//   Checkpoint ck = import_hf_gpt2("gpt2/");          // config.json, model.safetensors,
//   save_checkpoint("gpt2.bin", ck);                   // vocab.json, merges.txt
//   std::string note = export_hf_gpt2("out/ckpt.bin", "out/hf/");
//
// Import reads config.json (n_layer, n_head, n_embd, n_positions, vocab_size,
// layer_norm_epsilon, activation_function gelu_new | gelu | gelu_pytorch_tanh,
// tie_word_embeddings), model.safetensors in either name layout ("h.0.attn.c_attn.weight" as
// published, or "transformer.h.0..." as save_pretrained writes it; F32/F16/BF16 -> fp32),
// Conv1D weights stored [in, out] (transposed to tlm's [out, in]), skipping the causal-mask
// buffers attn.bias / attn.masked_bias; lm_head.weight absent or equal to wte: tied, else
// untied. The tokenizer (vocab.json + merges.txt) goes into the checkpoint.
// Export takes a plain or a fully fine-tuned (tune_method = full) checkpoint. GPT-2's forward is
// tlm's pre-norm GPT with learned positions, LayerNorm(eps), MLP 4C with ffn = gelu_tanh and
// the 1/sqrt(head size) scale. The result is an ordinary tlm checkpoint (step 0, dropout 0).
//
// Export writes config.json, model.safetensors (F32, "transformer." names, Conv1D layout) and
// the tokenizer: vocab.json + merges.txt for a gpt2 tokenizer; otherwise tlm_tokenizer.json
// (tlm's own file; Hugging Face cannot read it) - the returned note says which. A model GPT-2
// cannot express is refused naming the config key (norm, norm_type, pos, ffn, bias, block,
// attn, attn_scale, window, layout, tune_method lora | lst). Import of an export gives the same tensors,
// bit for bit.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "train/io/checkpoint.h"

namespace tlm::train {

// block_size > 0 keeps only the first block_size learned positions (wpe rows): the same model
// on contexts up to that length, cheaper to fine-tune (tlm tune keeps the backbone's context).
Checkpoint import_hf_gpt2(const std::string& dir, int64_t block_size = 0);

// Returns a one-line note on what was written.
std::string export_hf_gpt2(const std::string& checkpoint_path, const std::string& dir);

}  // namespace tlm::train
