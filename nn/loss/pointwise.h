// Per-entry losses of the task heads (train/tasks): sigmoid cross-entropy with a positive-class
// weight per label, and the squared error of a regression head.
//
//   Tensor l = nn::weighted_bce_loss(scores /*[N,K]*/, labels /*[N,K] int32 0/1*/, pos_weight /*[K]*/);
//   Tensor r = nn::mse_loss(pred /*[N]*/, target /*[N] floating*/);
//
// Weighted BCE (PyTorch's BCEWithLogitsLoss(pos_weight)), per entry, mean over all entries:
//   l = w_k y softplus(-s) + (1 - y) softplus(s)      ( = -w_k y log sigma(s) - (1-y) log sigma(-s) )
// w_k = n_neg / n_pos of label k in the training data is the usual choice under imbalance:
// the positives of a rare label then weigh as much as its negatives in total. pos_weight
// undefined = all 1 (plain BCE).
// Squared error: mean (pred - target)^2.
#pragma once

#include "nn/loss/common.h"

namespace tlm::nn {

Tensor weighted_bce_loss(const Tensor& scores, const Tensor& labels,
                         const Tensor& pos_weight = Tensor());
Tensor mse_loss(const Tensor& pred, const Tensor& target);

}  // namespace tlm::nn
