// Fused optimizer updates: one pass over a parameter reads the gradient and the state once and
// writes the parameter and the state once (no temporaries). The maths and the papers are in
// optim/adamw.h, optim/lion.h and optim/sgd.h; this is the loop, kept here with the other
// OpenMP loops (house style: pragmas live in tensor/kernels/).
//
//   kernels::adamw_step_(w, w.grad(), m, v, {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99,
//                                            .eps = 1e-8, .weight_decay = 0.1, .t = 1});
//
// The parameter and the state buffers must be contiguous, of the same shape and floating dtype
// (float32 or float64; the arithmetic runs in that dtype, as PyTorch's does). The gradient may
// be strided (it is made contiguous first). Each call bumps the version of every tensor it
// writes.
//
// grad_scale: the update uses grad_scale * g in place of g and leaves the gradient tensor as
// it is (gradient clipping's factor, applied here rather than by a pass of its own).
//
// The _many forms update several parameters in one parallel region, each thread taking the same
// contiguous share of every parameter (the share its core wrote the gradient of), so a step
// over a model's ~50 tensors is one region, not one per tensor with the small ones on a single
// thread. Each element gets exactly the arithmetic of the single-parameter form.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::kernels {

struct AdamWStep {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  int64_t t = 1;  // this parameter's step number, from 1 (bias corrections)
  double grad_scale = 1;
};
// p <- p(1 - lr wd);  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
// p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
void adamw_step_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s);
struct AdamWTarget {
  Tensor param, grad, m, v;
  AdamWStep s;
};
void adamw_step_many(const std::vector<AdamWTarget>& targets);

struct LionStep {
  double lr = 0, beta1 = 0, beta2 = 0, weight_decay = 0;
  double grad_scale = 1;
};
// u <- sign(b1 m + (1-b1) g) with sign(0) = 0;  p <- p(1 - lr wd) - lr u;
// m <- b2 m + (1-b2) g
void lion_step_(Tensor& param, const Tensor& grad, Tensor& m, const LionStep& s);
struct LionTarget {
  Tensor param, grad, m;
  LionStep s;
};
void lion_step_many(const std::vector<LionTarget>& targets);

struct SgdStep {
  double lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer is uninitialised: buf <- d instead of mu buf + d
};
// d <- g + wd p;  buf <- mu buf + d (first: buf <- d);  d <- nesterov ? d + mu buf : buf;
// p <- p - lr d. With momentum 0 there is no buffer: pass an undefined Tensor.
void sgd_step_(Tensor& param, const Tensor& grad, Tensor& buf, const SgdStep& s);

}  // namespace tlm::kernels
