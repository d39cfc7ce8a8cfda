// One step over all parameters at once (Optimizer::update_all -> kernels::adamw_step_many /
// lion_step_many) and clipping as a factor inside the update (Optimizer::step(grad_scale)),
// against the plain path: per-parameter kernels, and clip_grad_norm's pass over the
// gradients followed by step(). Bit-identical, since each element gets the same arithmetic.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "autograd/ops.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "optim/lion.h"
#include "optim/registry.h"
#include "tensor/kernels/optim_step.h"
#include "tensor/kernels/reduce.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {

// Sizes around the 16384-element chunks and the parallel threshold, and tiny ones.
const std::vector<Shape> kShapes = {{3}, {7, 5}, {128, 128}, {16384}, {129, 300}, {1}, {40000}};

std::vector<std::pair<std::string, Tensor>> make_params(DType dtype, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < kShapes.size(); ++i) {
    Tensor p = Tensor::randn(kShapes[i], rng, 0.5, dtype).set_requires_grad(true);
    out.push_back({fmt::format("p{}", i), p});
  }
  return out;
}

void set_grads(const std::vector<std::pair<std::string, Tensor>>& params, uint64_t seed) {
  Rng rng(seed);
  for (const auto& [name, p] : params) {
    Tensor q = p;
    q.set_grad(Tensor::randn(p.shape(), rng, 2.0, p.dtype()));
  }
}

template <class T>
void expect_same(const std::vector<std::pair<std::string, Tensor>>& a,
                 const std::vector<std::pair<std::string, Tensor>>& b, const std::string& what) {
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.to_vector<T>(), b[i].second.to_vector<T>()) << what << " " << a[i].first;
}

// The update rules written out element by element (optim/adamw.h, optim/lion.h), in double.
void reference_adamw(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m,
                     std::vector<double>& v, const kernels::AdamWStep& s) {
  const double bc1 = 1 - std::pow(s.beta1, static_cast<double>(s.t));
  const double bc2 = 1 - std::pow(s.beta2, static_cast<double>(s.t));
  for (size_t i = 0; i < p.size(); ++i) {
    const double gi = g[i] * s.grad_scale;
    m[i] = s.beta1 * m[i] + (1 - s.beta1) * gi;
    v[i] = s.beta2 * v[i] + (1 - s.beta2) * gi * gi;
    p[i] = p[i] * (1 - s.lr * s.weight_decay) -
           s.lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + s.eps);
  }
}
void reference_lion(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m,
                    const kernels::LionStep& s) {
  for (size_t i = 0; i < p.size(); ++i) {
    const double gi = g[i] * s.grad_scale, c = s.beta1 * m[i] + (1 - s.beta1) * gi;
    p[i] = p[i] * (1 - s.lr * s.weight_decay) - s.lr * (c > 0 ? 1.0 : (c < 0 ? -1.0 : 0.0));
    m[i] = s.beta2 * m[i] + (1 - s.beta2) * gi;
  }
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]) / (1e-3 + std::abs(b[i])));
  return m;
}

// Every element of every parameter (sizes around the chunks and the parallel threshold)
// against the rules in double, over two steps, with and without a gradient scale.
TEST(FusedStep, ManyKernelsFollowTheUpdateRules) {
  for (DType dtype : {DType::F32, DType::F64}) {
    for (double scale : {1.0, 0.37}) {
      const double tol = dtype == DType::F32 ? 1e-5 : 1e-12;
      auto a = make_params(dtype, 1);
      set_grads(a, 2);
      const size_t n = a.size();
      std::vector<Tensor> m(n), v(n), lm(n);
      std::vector<std::vector<double>> rp(n), rg(n), rm(n), rv(n), rlp(n), rlm(n);
      for (size_t i = 0; i < n; ++i) {
        m[i] = Tensor::zeros(a[i].second.shape(), dtype);
        v[i] = Tensor::zeros(a[i].second.shape(), dtype);
        lm[i] = Tensor::zeros(a[i].second.shape(), dtype);
        rp[i] = a[i].second.to_vector<double>();
        rg[i] = a[i].second.grad().to_vector<double>();
        rm[i] = rv[i] = rlm[i] = std::vector<double>(rp[i].size(), 0.0);
      }
      std::vector<Tensor> lion_p(n);  // Lion updates copies of the same starting values
      for (size_t i = 0; i < n; ++i) lion_p[i] = a[i].second.detach().clone();
      rlp = rp;
      for (int64_t t = 1; t <= 2; ++t) {
        const kernels::AdamWStep s{.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8,
                                   .weight_decay = 0.1, .t = t, .grad_scale = scale};
        const kernels::LionStep ls{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99, .weight_decay = 0.5,
                                   .grad_scale = scale};
        std::vector<kernels::AdamWTarget> at;
        std::vector<kernels::LionTarget> lt;
        for (size_t i = 0; i < n; ++i) {
          at.push_back({a[i].second, a[i].second.grad(), m[i], v[i], s});
          lt.push_back({lion_p[i], a[i].second.grad(), lm[i], ls});
          reference_adamw(rp[i], rg[i], rm[i], rv[i], s);
          reference_lion(rlp[i], rg[i], rlm[i], ls);
        }
        kernels::adamw_step_many(at);
        kernels::lion_step_many(lt);
      }
      for (size_t i = 0; i < n; ++i) {
        const std::string what = fmt::format("{} scale {} {}", dtype_name(dtype), scale, a[i].first);
        EXPECT_LT(max_rel_diff(a[i].second.to_vector<double>(), rp[i]), tol) << "adamw " << what;
        EXPECT_LT(max_rel_diff(m[i].to_vector<double>(), rm[i]), tol) << "adamw m " << what;
        EXPECT_LT(max_rel_diff(v[i].to_vector<double>(), rv[i]), tol) << "adamw v " << what;
        EXPECT_LT(max_rel_diff(lion_p[i].to_vector<double>(), rlp[i]), tol) << "lion " << what;
        EXPECT_LT(max_rel_diff(lm[i].to_vector<double>(), rlm[i]), tol) << "lion m " << what;
      }
      EXPECT_EQ(a[2].second.grad().to_vector<double>(), rg[2]) << "the gradient is not written";
    }
  }
}

// The trainer's path, step(clip_coefficient(norm)), against clip_grad_norm + step(), for each
// optimizer (SGD through the base class's update_all, AdamW and Lion through their fused one);
// the gradients are left as they were.
TEST(FusedStep, ClipFactorInsideTheStepMatchesClipThenStep) {
  for (const char* name : {"adamw", "lion", "sgd"}) {
    auto a = make_params(DType::F32, 5), b = make_params(DType::F32, 5);
    auto opt_a = make_optimizer(name, {{a, 0.1, 1.0}}, {.lr = 1e-2, .momentum = 0.9});
    auto opt_b = make_optimizer(name, {{b, 0.1, 1.0}}, {.lr = 1e-2, .momentum = 0.9});
    for (int step = 0; step < 3; ++step) {
      set_grads(a, 10 + step);
      set_grads(b, 10 + step);
      std::vector<Tensor> pa = opt_a->parameters(), pb = opt_b->parameters();
      const std::vector<float> g0 = pa[2].grad().to_vector<float>();
      const double norm = grad_norm(pa);
      opt_a->step(clip_coefficient(norm, 1.0));
      EXPECT_EQ(pa[2].grad().to_vector<float>(), g0) << "step(grad_scale) wrote a gradient";
      EXPECT_DOUBLE_EQ(clip_grad_norm(pb, 1.0), norm);
      opt_b->step();
      expect_same<float>(a, b, fmt::format("{} step {}", name, step));
    }
  }
}

TEST(FusedStep, GradScaleMustBePositiveAndFinite) {
  auto a = make_params(DType::F32, 7);
  set_grads(a, 8);
  auto opt = make_optimizer("adamw", {{a, 0.0, 1.0}}, {.lr = 1e-3});
  for (double bad : {0.0, -1.0, std::nan(""), HUGE_VAL})
    EXPECT_TLM_ERROR(opt->step(bad), "grad_scale");
}

// One region over every gradient, chunk sums added in a fixed order: the same bits on 1 and
// 2 threads, and the sum of the per-tensor sums of squares up to rounding.
TEST(FusedStep, SumOfSquaresOfManyTensors) {
  auto a = make_params(DType::F32, 9);
  std::vector<Tensor> xs;
  double expected = 0;
  for (const auto& [n, p] : a) {
    xs.push_back(p);
    expected += kernels::sum_squares(p);
  }
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const double one = kernels::sum_squares_many(xs);
  omp_set_num_threads(2);
  const double two = kernels::sum_squares_many(xs);
  omp_set_num_threads(saved);
  EXPECT_EQ(one, two);
  EXPECT_NEAR(one, expected, 1e-12 * expected);
  EXPECT_EQ(kernels::sum_squares_many({}), 0.0);
}

}  // namespace
}  // namespace tlm::optim
