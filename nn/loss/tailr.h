// TaiLr: total-variation-inspired reweighting of the LM likelihood.
//
//   Tensor l = nn::tailr_loss(logits /*[N,V]*/, targets /*[N] int32*/, 1e-7);
//
// Ji et al., "Tailoring Language Generation Models under Total Variation Distance" (ICLR 2023,
// https://openreview.net/pdf?id=VELL0PlWfc); Su, https://kexue.fm/archives/9526. Per token,
// with p = p_theta(y|x) the target's probability:
//   l = -log(gamma + (1-gamma) p) / (1-gamma)        (gamma = 0: CE; gamma -> 1: -p)
// whose gradient is CE's times p/(gamma + (1-gamma) p). Evaluated in log space,
// log(gamma + (1-gamma) p) = LSE(log gamma, log(1-gamma) + log p), so p ~ 1e-300 is fine.
// Paper form with a floor b on the (stop-gradient) weight:
//   l = -sg(max(b, p/(gamma + (1-gamma) p))) log p
// Reported gamma: 1e-7 from scratch, 0.1 MT, 0.8 summarisation. b is paper-specific
// (unverified); the EMO repo's TVD baseline clamps the weight to [0.2, 1]. Mean over
// non-ignored tokens.
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

Tensor tailr_loss(const Tensor& logits, const Tensor& targets, double gamma,
                  int32_t ignore_index = kIgnoreIndex);
// Per token [N] (0 at ignored tokens).
Tensor tailr_loss_per_item(const Tensor& logits, const Tensor& targets, double gamma,
                           int32_t ignore_index = kIgnoreIndex);
// The paper's weighted form with floor b (weight = sg(max(b, p/(gamma+(1-gamma)p)))).
Tensor tailr_weighted_loss(const Tensor& logits, const Tensor& targets, double gamma,
                           double floor_b, int32_t ignore_index = kIgnoreIndex);

// The registry entry (nn/loss/registry.h): "tailr", key tailr_gamma.
struct LossType;
LossType tailr_loss_type();

}  // namespace tlm::nn
