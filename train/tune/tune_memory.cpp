#include "train/tune/tune_memory.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "nn/block_registry.h"
#include "nn/choices.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "nn/transformer_block.h"
#include "tensor/error.h"
#include "train/io/model_config.h"
#include "train/launch/optimizer_setup.h"

namespace tlm::train {

namespace {

int64_t mlp_hidden(const TrainConfig& c) {
  return nn::MLP::default_hidden(c.n_embd, c.ffn);
}
int64_t linear_params(int64_t in, int64_t out, bool bias) { return in * out + (bias ? out : 0); }

// The (in, out) of each Linear of one block (nn::Block::for_each_linear), from the block
// type's registry entry (nn/block_registry.h:BlockShape).
std::vector<std::pair<int64_t, int64_t>> block_linears(const TrainConfig& c) {
  return nn::block_shape(unvalidated_gpt_config(c)).linears;
}

// One of LST's side blocks (nn/lst.cpp: the backbone's block options at width C/r, MLP hidden
// F/r), sized by the Transformer block's own count (nn/transformer_block.h).
nn::BlockShape side_block(const TrainConfig& c) {
  nn::BlockOptions o = nn::block_options(unvalidated_gpt_config(c), 0);
  o.attn.n_embd = c.n_embd / c.lst_reduction;
  o.mlp_hidden = mlp_hidden(c) / c.lst_reduction;
  return nn::transformer_block_shape(o);
}

// LST's side network (nn/lst.cpp): L side blocks, the downsamplers and gates, the final norm
// and the upsampler.
int64_t lst_side_parameters(const TrainConfig& c) {
  const int64_t C = c.n_embd, L = c.n_layer, S = C / c.lst_reduction;
  return (L + 1) * linear_params(C, S, true) + L + L * side_block(c).params + nn::norm_parameters(c.norm_type, S, c.bias) +
         linear_params(S, C, false);
}

// State buffers per parameter, read off the configured optimizer itself (as train's estimate
// does): adamw 2, lion 1, sgd 1 with momentum.
int64_t optimizer_buffers(const TrainConfig& c) {
  Tensor one = Tensor::zeros({1}).set_requires_grad(true);
  return make_optimizer(c, {{"w", one}})->state_bytes() / 4;
}

void sort_parts(MemoryEstimate& m) {
  std::stable_sort(m.parts.begin(), m.parts.end(), [](auto& a, auto& b) { return a.second > b.second; });
}

}  // namespace

int64_t tuned_parameters(const TrainConfig& c, int64_t vocab) {
  if (c.tune_method == TuneMethod::Full) return model_size(c, vocab).params;
  if (c.tune_method == TuneMethod::Lora) {
    int64_t per_layer = 0;
    for (const auto& [in, out] : block_linears(c)) per_layer += c.lora_rank * (in + out);
    return c.n_layer * per_layer;
  }
  TLM_CHECK(c.tune_method == TuneMethod::Lst, "tune: tune_method = '{}' is not one of full, lora, lst",
            nn::name_of(c.tune_method));
  return lst_side_parameters(c);
}

MemoryEstimate estimate_tune_memory(const TrainConfig& c, int64_t vocab, int64_t data_bytes,
                                    bool resume) {
  if (c.tune_method == TuneMethod::Full) return estimate_memory(c, vocab, data_bytes);  // as training
  const MemoryEstimate training = estimate_tuning_steps(c, vocab, data_bytes);
  if (c.tune_method != TuneMethod::Lst || resume || c.lst_fisher_samples == 0) return training;
  // A fresh LST run first scores the backbone (nn::empirical_fisher): the backbone's weights and
  // gradients, float64 sums for every weight, a forward and backward at batch 1.
  TrainConfig one = c;
  one.batch_size = 1;
  const std::map<std::string, int64_t> batch1 = [&] {
    const MemoryEstimate m = estimate_memory(one, vocab);
    return std::map<std::string, int64_t>(m.parts.begin(), m.parts.end());
  }();
  const int64_t P = model_size(c, vocab).params;
  MemoryEstimate fisher;
  fisher.parts = {{"backbone weights", 4 * P},
                  {"Fisher gradients", 4 * P},
                  {"Fisher float64 sums", 8 * P},
                  {"Fisher activations (batch 1)", batch1.at("activations") + batch1.at("logits gradient")}};
  if (data_bytes > 0) fisher.parts.emplace_back("data", 5 * data_bytes);
  sort_parts(fisher);
  return fisher.total_bytes() > training.total_bytes() ? fisher : training;
}

MemoryEstimate estimate_tuning_steps(const TrainConfig& c, int64_t vocab, int64_t data_bytes) {
  if (c.tune_method == TuneMethod::Full) return estimate_memory(c, vocab, data_bytes);
  const int64_t P = model_size(c, vocab).params, Pt = tuned_parameters(c, vocab);
  const double tokens = static_cast<double>(c.batch_size * c.block_size);
  const double C = static_cast<double>(c.n_embd), L = static_cast<double>(c.n_layer);
  const double V = static_cast<double>(vocab);
  const double half_bytes = c.precision != Precision::F32 ? 2 : 4;
  double activations = 0;
  std::vector<std::pair<std::string, int64_t>> extra;
  if (c.tune_method == TuneMethod::Lora) {
    // What the full run saves, plus x A^T of each adapter, less the frozen LM head's input.
    const std::map<std::string, int64_t> full = [&] {
      const MemoryEstimate m = estimate_memory(c, vocab);
      return std::map<std::string, int64_t>(m.parts.begin(), m.parts.end());
    }();
    const double adapters = static_cast<double>(block_linears(c).size());
    activations = static_cast<double>(full.at("activations")) +
                  tokens * L * adapters * static_cast<double>(c.lora_rank) * half_bytes - tokens * 4 * C;
  } else {
    const int64_t S = c.n_embd / c.lst_reduction;
    const nn::BlockShape side = side_block(c);
    const double layer = side.saved_half * half_bytes + side.saved_full * 4 + 2 * static_cast<double>(S) * half_bytes;
    activations = tokens * (L * layer + 4 * (2 * static_cast<double>(S) + V));
    const double states = L + 1 + (c.lst_output == nn::LstOutput::Residual ? 1 : 0);
    extra.emplace_back("backbone hidden states", static_cast<int64_t>(tokens * 4 * states * C));
  }
  MemoryEstimate m;
  m.parts = {{"backbone weights", 4 * P},
             {"trained weights", 4 * Pt},
             {"gradients", 4 * Pt},
             {"optimizer state", 4 * Pt * optimizer_buffers(c)},
             {"activations", static_cast<int64_t>(activations)},
             {"logits gradient", static_cast<int64_t>(tokens * 4 * V)}};
  m.parts.insert(m.parts.end(), extra.begin(), extra.end());
  if (data_bytes > 0) m.parts.emplace_back("data", 5 * data_bytes);
  sort_parts(m);
  return m;
}

}  // namespace tlm::train
