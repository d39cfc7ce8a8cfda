// Hard truncation -> softened loss -> focal loss: losses that down-weight easy samples.
//
//   Tensor a = nn::binary_focal_loss(logits /*[*]*/, labels /*[*] int32 0/1*/);  // a=.25, g=2
//   Tensor b = nn::focal_loss(logits /*[N,C]*/, targets /*[N] int32*/, 2.0);
//
// Binary losses take logits x and int32 labels y in {0,1} (or ignore_index) of the same
// shape; with the signed logit s = (1-2y) x (s > 0 means "on the wrong side"),
//   CE = -log sigma(x) (y=1) or -log sigma(-x) (y=0) = softplus(s).
// * Hard truncation (Su 2017, https://kexue.fm/archives/4733): l = lambda * CE with
//   lambda = 0 when the sample is already past the threshold m (y=1 and sigma(x) > m, or y=0
//   and sigma(x) < m), else 1. lambda is a constant (zero gradient).
// * Softened (replace the step theta(.) in lambda by sigma(K .)):
//   l = -sigma(-Kx) log sigma(x) (y=1), -sigma(Kx) log sigma(-x) (y=0) = sigma(K s) softplus(s);
//   multi-class: l = -softmax(-K z)_t log softmax(z)_t. The weight keeps its gradient (it is
//   what tells confident samples to stay confident). K = 1 is focal loss with gamma = 1.
// * Focal (Lin et al., arXiv:1708.02002): l = -alpha (1-p)^gamma log p (y=1),
//   -(1-alpha) p^gamma log(1-p) (y=0) = alpha_t sigma(s)^gamma softplus(s), with
//   sigma(s)^gamma = exp(gamma log_sigmoid(s)) so nothing overflows; multi-class
//   l = -alpha (1-p_t)^gamma log p_t with log p_t = z_t - LSE(z),
//   log(1-p_t) = LSE_{j!=t}(z_j) - LSE(z) and (1-p_t)^gamma = exp(gamma log(1-p_t)).
// All reduce with a mean over non-ignored elements (binary) or rows (multi-class).
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

// ---- binary, on logits [*] with labels [*] int32 in {0,1} or ignore_index ----
Tensor hard_truncation_loss(const Tensor& logits, const Tensor& labels, double m = 0.5,
                            int32_t ignore_index = kIgnoreIndex);
Tensor softened_truncation_loss(const Tensor& logits, const Tensor& labels, double K,
                                int32_t ignore_index = kIgnoreIndex);
Tensor binary_focal_loss(const Tensor& logits, const Tensor& labels, double alpha = 0.25,
                         double gamma = 2.0, int32_t ignore_index = kIgnoreIndex);

// ---- multi-class, on logits [N,C] with targets [N] int32 in [0,C) or ignore_index ----
// lambda = 0 where p_t > m.
Tensor hard_truncation_loss_multiclass(const Tensor& logits, const Tensor& targets, double m = 0.5,
                                       int32_t ignore_index = kIgnoreIndex);
Tensor softened_truncation_loss_multiclass(const Tensor& logits, const Tensor& targets, double K,
                                           int32_t ignore_index = kIgnoreIndex);
// alpha is a plain scale here (1 = the formula of docs/methods.md, "Focal loss and truncation").
Tensor focal_loss(const Tensor& logits, const Tensor& targets, double gamma = 2.0,
                  double alpha = 1.0, int32_t ignore_index = kIgnoreIndex);
// Per-row focal loss [N] (0 at ignored rows); the registry's LM loss reduces it.
Tensor focal_loss_per_item(const Tensor& logits, const Tensor& targets, double gamma = 2.0,
                           double alpha = 1.0, int32_t ignore_index = kIgnoreIndex);

// The registry entry (nn/loss/registry.h): "focal", keys focal_gamma and focal_alpha.
struct LossType;
LossType focal_loss_type();

}  // namespace tlm::nn
