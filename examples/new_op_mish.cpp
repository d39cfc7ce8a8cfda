// Worked extension 1 (docs/extending.md): a new elementwise op with its own backward, checked
// against central finite differences in float64.
//
//   Mish (Misra 2019, arXiv:1908.08681):  y = x tanh(softplus(x))
//   dy/dx = tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x),   sp = softplus(x) = log(1 + e^x)
//
// In the library this would be autograd/ops/elementwise.cpp (the op and its Node) plus a line
// in autograd/ops.h and a gradcheck in tests/autograd/test_gradcheck_ops.cpp. Here it is one
// file, built and run by ctest (example_new_op_mish): it exits 1 if the check fails, and it
// also shows that the check catches a wrong backward (the derivative without its second term).
#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tlm {

// The backward node: what it saves, and the local derivative times the incoming gradient.
struct MishBackward : autograd::Node {
  autograd::SavedTensor x{this};  // the input; freed after backward runs
  bool wrong = false;             // for the demonstration below only
  const char* name() const override { return "mish"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // Backward runs with grad mode off, so it may call ops freely.
    const Tensor xv = x.get();
    const Tensor t = tanh(softplus(xv));
    Tensor d = wrong ? t : add(t, mul(mul(xv, rsub(square(t), 1.0)), sigmoid(xv)));
    return {mul(g, d)};  // one gradient per recorded input, with that input's shape
  }
};

// The forward: computed from existing ops with recording off (a new kernel in
// tensor/kernels/ would replace these three calls if a benchmark asked for it), then one
// node records the whole op.
Tensor mish(const Tensor& x, bool wrong_backward = false) {
  Tensor y;
  {
    NoGradGuard no_grad;
    y = mul(x, tanh(softplus(x)));
  }
  if (autograd::needs_grad(x)) {  // false under NoGradGuard: nothing is saved
    auto node = std::make_shared<MishBackward>();
    node->x.save(x);
    node->wrong = wrong_backward;
    autograd::record(node, y, {&x});
  }
  return y;
}

}  // namespace tlm

int main() {
  using namespace tlm;
  Rng rng(7);
  // Shapes with a size-1 dimension, and a non-contiguous (transposed) input.
  const Tensor a = Tensor::randn({4, 1, 3}, rng, 2.0, DType::F64);
  const Tensor b = transpose(Tensor::randn({5, 6}, rng, 2.0, DType::F64), 0, 1);
  bool ok = true;
  for (const Tensor& x : {a, b}) {
    GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return mish(in[0]); }, {x});
    fmt::print("mish gradcheck on {}: {} (max abs error {:.2e})\n", shape_str(x.shape()),
               r.ok ? "ok" : "FAILED", r.max_abs_error);
    ok = ok && r.ok;
  }
  // The same check on a deliberately wrong backward must fail.
  GradcheckResult bad =
      gradcheck([](const std::vector<Tensor>& in) { return mish(in[0], /*wrong=*/true); }, {a});
  fmt::print("wrong backward detected: {}\n", bad.ok ? "NO" : "yes");
  ok = ok && !bad.ok;
  // A value check: mish(0) = 0, mish(1) = tanh(log(1 + e)).
  const auto v = mish(Tensor::from_vector(std::vector<double>{0.0, 1.0}, {2})).to_vector<double>();
  ok = ok && v[0] == 0.0 && std::abs(v[1] - std::tanh(std::log1p(std::exp(1.0)))) < 1e-15;
  fmt::print("{}\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
