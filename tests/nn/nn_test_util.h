// Helpers shared by the nn tests (float64 inputs and EXPECT_GRADCHECK come from
// tests/common/gradcheck.h, EXPECT_TLM_ERROR from tests/common/expect_error.h): a finite-difference check
// of every parameter gradient of a module, and a reference cross-entropy (log_softmax +
// gather; the fused loss belongs to nn/loss/).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "autograd/ops.h"
#include "nn/module.h"
#include "tests/common/expect_error.h"
#include "tests/common/gradcheck.h"  // randn64, uniform64, In, EXPECT_GRADCHECK

namespace tlm::testing {

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// mean over [B,T] of -log softmax(logits)[target]; logits [B,T,V], targets [B,T] int32.
inline Tensor reference_cross_entropy(const Tensor& logits, const Tensor& targets) {
  Tensor logp = log_softmax(logits, -1);
  return neg(mean(gather(logp, -1, unsqueeze(targets, -1))));
}

// loss = sum(out * W) for a fixed random W: every output element enters the check.
inline Tensor weighted_sum(const Tensor& out, uint64_t seed = 99) {
  Rng rng(seed);
  return sum(mul(out, Tensor::randn(out.shape(), rng, 1.0, out.dtype())));
}

struct ParamCheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-5;
  int64_t stride = 1;  // check every `stride`-th entry of each parameter
  bool trainable_only = false;  // skip frozen parameters (requires_grad off: LoRA's base)
};

// Backpropagates loss_fn() once, then compares every (sampled) entry of every parameter
// gradient of the float64 module `m` with a central difference of loss_fn.
inline void expect_parameter_grads(nn::Module& m, const std::function<Tensor()>& loss_fn,
                                   const ParamCheckOptions& o = {}) {
  m.zero_grad();
  loss_fn().backward();
  int reported = 0;
  int64_t checked = 0;
  std::string message;
  for (auto& [name, p_const] : m.named_parameters()) {
    Tensor p = p_const;
    if (o.trainable_only && !p.requires_grad()) continue;
    ASSERT_EQ(p.dtype(), DType::F64) << name;
    ASSERT_TRUE(p.is_contiguous()) << name;
    Tensor g = p.grad();
    std::vector<double> ga = g.defined() ? g.to_vector<double>() : std::vector<double>(p.numel(), 0.0);
    double* d = p.data<double>();
    for (int64_t i = 0; i < p.numel(); i += o.stride) {
      const double orig = d[i];
      double lp, lm;
      {
        NoGradGuard no_grad;
        d[i] = orig + o.eps;
        lp = loss_fn().item();
        d[i] = orig - o.eps;
        lm = loss_fn().item();
        d[i] = orig;
      }
      const double numeric = (lp - lm) / (2 * o.eps);
      ++checked;
      if (!(std::abs(ga[i] - numeric) <= o.atol + o.rtol * std::abs(numeric)) && reported++ < 8)
        message += fmt::format("{} {} entry {}: analytic {:.10g}, numeric {:.10g}\n", name,
                               shape_str(p.shape()), i, ga[i], numeric);
    }
  }
  EXPECT_GT(checked, 0);
  if (reported > 0) ADD_FAILURE() << reported << " parameter gradient mismatches:\n" << message;
}

}  // namespace tlm::testing
