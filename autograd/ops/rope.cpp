// RoPE (arXiv:2104.09864):
//   forward:  (y_2i, y_2i+1) = R(p theta_i) (x_2i, x_2i+1),  R(a) = [[cos a, -sin a], [sin a, cos a]]
//   backward: dx = R(p theta_i)^T dy = R(-p theta_i) dy
#include <algorithm>

#include "autograd/ops/rope.h"

#include <cmath>

#include "autograd/node.h"
#include "tensor/kernels/rope.h"

namespace tlm {
namespace {

struct RopeBackward : autograd::Node {
  Tensor cos, sin;  // [P, D/2] constant tables (not activations: never modified)
  int64_t offset = 0;
  const char* name() const override { return "rope"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {kernels::rope(g, cos, sin, offset, /*inverse=*/true)};
  }
};

}  // namespace

RopeTables rope_tables(int64_t positions, int64_t head_dim, double base, DType dtype) {
  TLM_CHECK(positions >= 0, "rope_tables: positions must be >= 0, got {}", positions);
  TLM_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope_tables: the head size must be even and "
            "positive, got {}", head_dim);
  TLM_CHECK(base > 1, "rope_tables: base must be > 1, got {}", base);
  const int64_t half = head_dim / 2;
  std::vector<double> c(static_cast<size_t>(positions * half)), s(c.size());
  for (int64_t i = 0; i < half; ++i) {
    const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    for (int64_t p = 0; p < positions; ++p) {
      const double a = static_cast<double>(p) * theta;
      c[p * half + i] = std::cos(a);
      s[p * half + i] = std::sin(a);
    }
  }
  RopeTables t;
  t.cos = Tensor::from_vector(c, {positions, half}).to(dtype);
  t.sin = Tensor::from_vector(s, {positions, half}).to(dtype);
  return t;
}

Tensor rope(const Tensor& x, const RopeTables& tables, int64_t offset) {
  TLM_CHECK(tables.cos.defined(), "rope: {}: the tables are empty (build them with rope_tables)",
            x.str());
  Tensor y = kernels::rope(x, tables.cos, tables.sin, offset, /*inverse=*/false);
  if (autograd::needs_grad(x)) {
    auto node = std::make_shared<RopeBackward>();
    node->cos = tables.cos;
    node->sin = tables.sin;
    node->offset = offset;
    autograd::record(node, y, {&x});
  }
  return y;
}

void ensure_rope_tables(RopeTables& tables, int64_t positions, int64_t min_positions,
                        int64_t head_dim, double base, DType dtype) {
  if (tables.cos.defined() && tables.positions() >= positions && tables.cos.dtype() == dtype) return;
  tables = rope_tables(std::max(positions, min_positions), head_dim, base, dtype);
}

}  // namespace tlm
