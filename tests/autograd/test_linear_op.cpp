// linear(x, W, b) = x W^T + b as one op, against matmul + add, in float64: values and every
// gradient, with and without bias, batched and 1-D inputs, a row-sliced weight, frozen inputs;
// and a float64 gradient check.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/ops/linear.h"

namespace tlm {
namespace {

Tensor randn(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  return Tensor::randn(s, rng, 1.0, DType::F64);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

TEST(LinearOp, MatchesMatmulPlusBias) {
  struct Case { Shape x; int64_t out; bool bias, slice_weight, freeze_x, freeze_w; };
  for (const Case& c : {Case{{2, 3, 5}, 4, true, false, false, false}, Case{{7, 5}, 3, false, false, false, false},
                        Case{{5}, 6, true, false, false, false}, Case{{2, 4, 5}, 3, true, true, false, false},
                        Case{{3, 5}, 4, true, false, true, false}, Case{{3, 5}, 4, true, false, false, true}}) {
    const int64_t in = c.x.back();
    Tensor x0 = randn(c.x, 1), w_full = randn({2 * c.out, in}, 2), b0 = randn({c.out}, 3);
    Tensor gy;
    auto run = [&](bool fused) {
      Tensor x = x0.detach().set_requires_grad(!c.freeze_x);
      Tensor wf = w_full.detach().set_requires_grad(!c.freeze_w);
      Tensor b = b0.detach().set_requires_grad(true);
      Tensor w = c.slice_weight ? narrow(wf, 0, c.out, c.out) : narrow(wf, 0, 0, c.out);
      Tensor bias = c.bias ? b : Tensor();
      Tensor y;
      if (fused) {
        y = linear(x, w, bias);
      } else {
        y = matmul(x.dim() == 1 ? unsqueeze(x, 0) : x, transpose(w, 0, 1));
        if (x.dim() == 1) y = squeeze(y, 0);
        if (c.bias) y = add(y, bias);
      }
      if (!gy.defined()) gy = randn(y.shape(), 4);
      sum(mul(y, gy)).backward();
      return std::vector<Tensor>{y, x.grad(), wf.grad(), c.bias ? b.grad() : Tensor()};
    };
    std::vector<Tensor> f = run(true), p = run(false);
    EXPECT_LT(max_abs_diff(f[0], p[0]), 1e-13) << shape_str(c.x);
    for (int i = 1; i < 4; ++i) {
      ASSERT_EQ(f[i].defined(), p[i].defined()) << i;
      if (f[i].defined()) {
        EXPECT_LT(max_abs_diff(f[i], p[i]), 1e-13) << shape_str(c.x) << " grad " << i;
      }
    }
  }
}

TEST(LinearOp, Gradcheck) {
  using In = const std::vector<Tensor>&;
  auto r = gradcheck([](In v) { return linear(v[0], v[1], v[2]); },
                     {randn({2, 3, 4}, 5), randn({5, 4}, 6), randn({5}, 7)});
  EXPECT_TRUE(r.ok) << r.message;
  r = gradcheck([](In v) { return linear(v[0], v[1], Tensor()); }, {randn({3, 4}, 8), randn({2, 4}, 9)});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LinearOp, RefusesMismatchedShapes) {
  try {
    linear(randn({2, 3}, 1), randn({4, 5}, 2), Tensor());
    FAIL() << "a [2,3] input was accepted by a [4,5] weight";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4,5]"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace tlm
