#include "train/launch/memory_estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nn/block_registry.h"
#include "nn/norm.h"
#include "train/data/probes.h"
#include "train/data/tokenizer.h"
#include "train/io/model_config.h"
#include "train/launch/optimizer_setup.h"
#include "train/sys/memory_limit.h"

namespace tlm::train {

ModelSize model_size(const TrainConfig& c, int64_t V) {
  const int64_t C = c.n_embd, L = c.n_layer;
  // One block of the config's type, from its registry entry (nn/block_registry.h:BlockShape).
  const nn::BlockShape block = nn::block_shape(unvalidated_gpt_config(c));
  const int64_t wpe = nn::choice_of(c.pos).impl.learned_table ? c.block_size * C : 0;
  ModelSize m;
  const int64_t ln_f = c.norm == nn::NormPlacement::Pre ? nn::norm_parameters(c.norm_type, C, c.bias) : 0;
  m.params = V * C + wpe + L * block.params + ln_f + (c.tie_weights ? 0 : V * C);
  m.params_non_embedding = m.params - wpe;
  const double N = static_cast<double>(m.params_non_embedding);
  m.flops_per_token = 6.0 * N + static_cast<double>(L) * block.attention_flops;
  return m;
}

int64_t MemoryEstimate::total_bytes() const {
  int64_t t = 0;
  for (const auto& [name, b] : parts) t += b;
  return t;
}

std::string MemoryEstimate::str() const {
  std::string s;
  for (const auto& [name, b] : parts) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", name, format_bytes(b));
  return fmt::format("{} ({})", format_bytes(total_bytes()), s);
}

MemoryEstimate estimate_memory(const TrainConfig& c, int64_t V, int64_t data_bytes) {
  const ModelSize size = model_size(c, V);
  const int64_t P = size.params;
  // Optimizer state buffers per parameter: what the configured optimizer allocates for one
  // float (adamw 2, lion 1, sgd 1 with momentum), read off the optimizer itself.
  Tensor one = Tensor::zeros({1}).set_requires_grad(true);
  const int64_t buffers = make_optimizer(c, {{"w", one}})->state_bytes() / 4;
  // Activations, in floats per token (see the header), split into what 16-bit precision stores
  // in 2 bytes (the saved activations) and what stays fp32 (softmax outputs and statistics);
  // a layer's are counted by its block type's entry.
  const double C = static_cast<double>(c.n_embd), L = static_cast<double>(c.n_layer);
  const nn::BlockShape block = nn::block_shape(unvalidated_gpt_config(c));
  const double half = block.saved_half, full = block.saved_full;
  const bool sixteen = c.precision != Precision::F32;
  const double tokens = static_cast<double>(c.batch_size * c.block_size);
  const double one_layer = tokens * (half * (sixteen ? 2 : 4) + full * 4);
  // activation_checkpointing = blocks keeps each block's input (fp32) and, during backward, one
  // block's recomputed activations at a time.
  const bool recompute = c.activation_checkpointing == ActivationCheckpointing::Blocks;
  const double layer_bytes = recompute ? tokens * L * C * 4 : L * one_layer;
  const double recomputed_block = recompute ? one_layer : 0;
  const double outside = tokens * 4 * (2 * C + static_cast<double>(V) + (c.dropout > 0 ? C : 0));
  // Gradients alive at the peak. Backward makes the embedding's gradient first (tied head and
  // positions), then goes through the layers from the last: each layer's weight gradients are
  // made while its saved activations are alive, and those activations are freed when it is
  // done. After k of L layers, gradients + activations = E + (k + 1) G_l + (L - k) A_l: highest
  // at k = 0 when a layer's gradients G_l are at most its activations A_l, else at k = L - 1.
  const int64_t embedding_grad =
      4 * (V + (nn::choice_of(c.pos).impl.learned_table ? c.block_size : 0)) * c.n_embd;
  const double G_l = static_cast<double>(std::max<int64_t>(0, 4 * P - embedding_grad)) / L;
  const double A_l = (layer_bytes + recomputed_block) / L;
  const int64_t grads_at_peak = embedding_grad + static_cast<int64_t>(G_l + (L - 1) * std::max(0.0, G_l - A_l));
  MemoryEstimate m;
  m.parts = {{"weights", 4 * P},
             {"gradients", grads_at_peak},
             {"optimizer state", 4 * P * buffers},
             {"activations", static_cast<int64_t>(layer_bytes + outside)},
             {"logits gradient", static_cast<int64_t>(tokens * 4 * static_cast<double>(V))}};
  if (recompute) m.parts.emplace_back("recomputed block", static_cast<int64_t>(recomputed_block));
  if (data_bytes > 0) m.parts.emplace_back("data", 5 * data_bytes);
  std::stable_sort(m.parts.begin(), m.parts.end(), [](auto& a, auto& b) { return a.second > b.second; });
  return m;
}

int64_t expected_vocab(const TrainConfig& cfg, const std::string& text) {
  if (is_synthetic_data(cfg.data)) return SyntheticTask(cfg.data, cfg.block_size).tokenizer()->vocab_size();
  if (!cfg.tokenizer_file.empty()) return load_tokenizer_file(cfg.tokenizer_file)->vocab_size();
  const std::string& vocab_key = tokenizer_registry().get(cfg.tokenizer).vocab_key;  // bpe_vocab_size
  if (!vocab_key.empty()) return cfg.integer(vocab_key);
  return make_tokenizer("char", text, {})->vocab_size();
}

std::string memory_refusal(const MemoryEstimate& estimate, const AvailableMemory& available) {
  if (available.bytes < 0 || estimate.total_bytes() <= available.bytes) return "";
  std::string parts;
  for (const auto& [name, bytes] : estimate.parts)
    parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", name, format_bytes(bytes));
  return fmt::format(
      "memory: this run needs about {} but {} is available ({}); the largest parts: {}. "
      "Reduce batch_size or block_size (activations), n_layer or n_embd (weights, gradients, "
      "optimizer state), use precision=bf16 (16-bit activations) or optimizer=lion (one state "
      "buffer); --force tries anyway",
      format_bytes(estimate.total_bytes()), format_bytes(available.bytes), available.source,
      parts);
}

}  // namespace tlm::train
