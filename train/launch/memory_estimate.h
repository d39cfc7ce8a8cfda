// A training run's size from its config alone, without building the model: parameter count,
// training FLOPs per token and the memory the run will need, so that `tlm train` can refuse a run
// that cannot fit before it allocates anything, and `tlm info` answers instantly even at 10B
// parameters.
//
//   ModelSize size = model_size(cfg, vocab);           // == nn::GPT(...).num_parameters() etc.
//   MemoryEstimate m = estimate_memory(cfg, vocab);
//   m.total_bytes();                                   // tensor memory at the peak of a step
//   m.parts;                                           // {"weights", bytes}, {"gradients", ...}
//
// The estimate (bytes; P = parameters, 4-byte floats; B batch, T = block_size, C = n_embd,
// L = n_layer, H heads, F the MLP hidden size, V the vocabulary):
//   weights     4 P            optimizer 4 P x buffers (AdamW 2, Lion 1, SGD 1 with momentum)
//   gradients   those alive at the peak: E + G_l + (L - 1) max(0, G_l - A_l), with E the
//               embedding's gradient (4 (V + T) C; made first in backward), G_l and A_l one
//               layer's gradients and activations (each layer's gradients are made while its
//               activations are alive, which are then freed)
//   activations what one micro-batch's graph holds for backward, counted from the tensors the
//               ops save (tests/train/test_memory_estimate.cpp checks them against the measured
//               activation_bytes):
//                 per layer and token (the block type's entry counts them,
//                 nn/block_registry.h:BlockShape): 8C (norm inputs and outputs, qkv, attention output and
//                 projection, residual) + 2F (GELU: c_fc output and GELU output; gated: 2F + 2F)
//                 + H T (attention probabilities, causal rows of T) + H + 4 (softmax and norm
//                 statistics); dropout > 0 adds 2C + 2 H T (masks)
//                 GAU layers: 2(2e+s) + 2s + T + 2e + 3C
//                 outside the layers: 2C (embedding, final norm) + V (logits)
//               activation_checkpointing = blocks: 4 C per layer and token (the block inputs);
//                 its "recomputed block" part is one layer's activations, rebuilt in backward
//                 one block at a time
//               precision = bf16 | fp16 stores the saved activations of a layer in 2 bytes
//               instead of 4, all but the attention probabilities and statistics (H T + H + 4;
//               GAU: T), which stay fp32; the logits and what is outside the layers stay fp32.
//   logits grad 4 B T V        (the loss gradient, alive while backward starts)
//   data        5 x the text's bytes, when given: the text and its token ids (at most one
//               4-byte id per byte) while the dataset is built; not tensor memory, so not in
//               the measured peak_bytes
// Tuning runs (tune_method != none) are estimated by method in train/tune/tune_memory.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/io/config.h"
#include "train/sys/memory_limit.h"

namespace tlm::train {

struct ModelSize {
  int64_t params = 0;                // every parameter (tied wte counted once)
  int64_t params_non_embedding = 0;  // without wpe (nanoGPT's num_params(non_embedding=True))
  double flops_per_token = 0;        // 6 N + 12 L C T (GAU: 6 N + 6 L (s + e) T), N non-embedding
};

// The parameter count and FLOPs nn::GPT has for `cfg` and vocabulary `vocab` (tested equal).
ModelSize model_size(const TrainConfig& cfg, int64_t vocab);

struct MemoryEstimate {
  std::vector<std::pair<std::string, int64_t>> parts;  // name, bytes; largest first
  int64_t total_bytes() const;
  // "1.21 GiB (activations 800 MiB, optimizer state 260 MiB, weights 130 MiB, gradients 130 MiB,
  // logits gradient 1 MiB)"
  std::string str() const;
};

MemoryEstimate estimate_memory(const TrainConfig& cfg, int64_t vocab, int64_t data_bytes = 0);

// The vocabulary a fresh run of `cfg` will have, without training a tokenizer: bpe_vocab_size
// for BPE; for characters, the distinct UTF-8 characters of `text`.
int64_t expected_vocab(const TrainConfig& cfg, const std::string& text);

// Empty when `estimate` fits in `available`; otherwise the refusal: the estimate, its largest
// parts, the available memory and its source, and what to change (--force to try anyway).
std::string memory_refusal(const MemoryEstimate& estimate, const AvailableMemory& available);

}  // namespace tlm::train
