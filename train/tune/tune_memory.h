// The memory of a `tlm tune` run from its config alone (the backbone's keys and the method's),
// so that `tlm tune` refuses a run that cannot fit before it loads anything, as `tlm train`
// does (train/launch/memory_estimate.h; --force to try anyway).
//
//   MemoryEstimate m = estimate_tune_memory(cfg, vocab);   // cfg.tune_method = full | lora | lst
//
// What each method holds at the peak of a step (bytes; P the backbone's parameters, P_t the
// trained ones, 4-byte floats, "buffers" the optimizer's state per parameter; B batch,
// T = block_size, C = n_embd, L = n_layer, H heads, F the MLP hidden size, V the vocabulary;
// activations per token as in train/launch/memory_estimate.h, A(C, F) = 8C + 2F + H T + H + 4 per
// Transformer layer, 16-bit precision storing all but H T + H + 4 in 2 bytes):
//   full  what `tlm train` holds (estimate_memory): weights, gradients and optimizer state of all
//         P, every layer's activations, the logits and their gradient
//   lora  frozen backbone weights 4 P; adapters P_t = r sum (in + out) over each layer's Linears
//         (nn/lora.h), their gradients 4 P_t and optimizer state; activations: what full holds
//         (the gradient still runs through every layer: the adapters' inputs are the tensors the
//         full run saves) plus r per adapter and token (x A^T), less the LM head's input C
//         (the frozen head saves no input)
//   lst   frozen backbone weights 4 P; the side network P_t (nn/lst.h: L+1 ladders C -> C/r with
//         bias, L gates, L Transformer blocks of width C/r with MLP hidden F/r, a norm, up
//         C/r -> C), its gradients and optimizer state; activations: the backbone's hidden
//         states, kept without a graph ((L+1) C per token, one more C with lst_output =
//         residual), the side layers' A(C/r, F/r) + 2 C/r (the ladder's gate products), 2 C/r
//         at the side's output and the logits V
//   all   the logits gradient 4 B T V; data 5 x the text's bytes when given (not tensor memory)
// tests/train/test_tune_memory.cpp checks each method against the measured peak_bytes.
// lst's pruning pass before training (a fresh run with lst_fisher_samples > 0; nn/lst.h) holds
// the backbone's weights 4 P, its gradients 4 P, float64 sums 8 P and the activations and
// logits gradient of one window (batch 1); for a large backbone that is the run's peak.
#pragma once

#include <cstdint>

#include "train/io/config.h"
#include "train/launch/memory_estimate.h"

namespace tlm::train {

// The parameters each method trains: LoRA's adapters, LST's side network (nn::LadderSide),
// all of the backbone for full (tested equal to the built modules' counts).
int64_t tuned_parameters(const TrainConfig& cfg, int64_t vocab);

// The estimate for cfg.tune_method (full | lora | lst) over the backbone that cfg describes: the
// larger of its two phases, the tuning steps (estimate_tuning_steps) and, for a fresh lst run
// with lst_fisher_samples > 0 (`resume` false), the pruning pass before them (parts named
// "Fisher ...").
MemoryEstimate estimate_tune_memory(const TrainConfig& cfg, int64_t vocab, int64_t data_bytes = 0,
                                    bool resume = false);
// What the tuning steps hold (the peak_bytes a run measures: it counts from the first step).
MemoryEstimate estimate_tuning_steps(const TrainConfig& cfg, int64_t vocab, int64_t data_bytes = 0);

}  // namespace tlm::train
