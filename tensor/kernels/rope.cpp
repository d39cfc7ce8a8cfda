#include "tensor/kernels/rope.h"

#include "tensor/profile.h"

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {

Tensor rope(const Tensor& x, const Tensor& cos_in, const Tensor& sin_in, int64_t offset,
            bool inverse) {
  TLM_PROFILE(Attention);
  TLM_CHECK(x.dim() >= 2, "rope: expected [..., T, D], got {}", x.str());
  const int64_t T = x.shape()[x.dim() - 2], D = x.shape().back();
  TLM_CHECK(D % 2 == 0, "rope: the head size D of {} must be even", shape_str(x.shape()));
  TLM_CHECK(cos_in.dim() == 2 && cos_in.shape() == sin_in.shape() && cos_in.shape()[1] == D / 2,
            "rope: {} x tables {}: the tables must be [P, D/2] = [P, {}]", shape_str(x.shape()),
            shape_str(cos_in.shape()), D / 2);
  TLM_CHECK(offset >= 0 && offset + T <= cos_in.shape()[0],
            "rope: positions [{}, {}) of {} exceed the table of {} positions", offset,
            offset + T, shape_str(x.shape()), cos_in.shape()[0]);
  TLM_CHECK(cos_in.dtype() == x.dtype() && sin_in.dtype() == x.dtype(),
            "rope: dtypes differ: {} and tables {}", x.str(), cos_in.str());
  Tensor cs = cos_in.contiguous(), sn = sin_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const int64_t rows = D == 0 ? 0 : x.numel() / D;
  const int64_t half = D / 2;
  const int64_t sx = x.strides().back();
  dispatch_floating(x.dtype(), "rope", [&](auto tag) {
    using T_ = decltype(tag);
    const T_* xp = x.data<T_>();
    const T_* cp = cs.data<T_>();
    const T_* sp = sn.data<T_>();
    T_* op = out.data<T_>();
    const T_ sign = inverse ? T_(-1) : T_(1);
    const Strides* st[1] = {&x.strides()};
#pragma omp parallel for if (x.numel() >= kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off;
      row_offsets(r, x.shape(), st, 1, &off);
      const T_* a = xp + off;
      T_* b = op + r * D;
      const int64_t pos = offset + r % T;
      const T_* c = cp + pos * half;
      const T_* s = sp + pos * half;
      for (int64_t i = 0; i < half; ++i) {
        const T_ x0 = a[2 * i * sx], x1 = a[(2 * i + 1) * sx];
        const T_ si = sign * s[i];
        b[2 * i] = x0 * c[i] - x1 * si;
        b[2 * i + 1] = x0 * si + x1 * c[i];
      }
    }
  });
  return out;
}

}  // namespace tlm::kernels
