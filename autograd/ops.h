// The differentiable operations of tlm: what models, losses and optimizers are built from.
//
//   Tensor w = Tensor::randn({4, 3}, rng).set_requires_grad(true);
//   Tensor y = sum(gelu(matmul(x, w)));   // records a graph: x [N,4] -> [N,3] -> scalar
//   y.backward();                         // w.grad() now holds dy/dw
//
// Each op's forward and backward live together in autograd/ops/<family>.cpp; the kernels
// they call are in tensor/kernels/. Binary ops broadcast by NumPy's rules and their
// backward sums the gradient back to each input's shape. Views (reshape, transpose,
// permute, narrow, expand) share storage with their input.
#pragma once

#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tlm {

// ---- elementwise, binary (broadcasting) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to a where a >= b, else to b
Tensor minimum(const Tensor& a, const Tensor& b);  // gradient to a where a <= b, else to b

// ---- elementwise with a scalar ----
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor pow(const Tensor& a, double p);
Tensor rsub(const Tensor& a, double s);  // s - a
Tensor rdiv(const Tensor& a, double s);  // s / a
Tensor clamp(const Tensor& a, double lo, double hi);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(a, s); }

// ---- elementwise, unary ----
Tensor neg(const Tensor& x);
inline Tensor operator-(const Tensor& x) { return neg(x); }
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor relu2(const Tensor& x);      // relu(x)^2 (Primer; GAU's attention)
Tensor gelu(const Tensor& x);       // exact: x * Phi(x)
Tensor gelu_tanh(const Tensor& x);  // the tanh approximation (GPT-2)
Tensor silu(const Tensor& x);       // x * sigmoid(x)
Tensor square(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor softplus(const Tensor& x);     // log(1 + e^x), stable
Tensor log_sigmoid(const Tensor& x);  // -softplus(-x), stable

// ---- reductions ----
Tensor sum(const Tensor& x);                                   // all elements -> 0-D
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);  // gradient to the argmax
Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim = false);

// ---- softmax ----
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

// ---- matrix products (BLAS) ----
// a [..., M, K] x b [..., K, N]; b may also be 2-D [K, N] and is then shared by the batch.
// Transposed views are passed to BLAS as flags, not copied.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- views and copies ----
Tensor reshape(const Tensor& x, const Shape& shape);  // one entry may be -1
Tensor transpose(const Tensor& x, int64_t axis0 = -2, int64_t axis1 = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor squeeze(const Tensor& x, int64_t axis);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast view (stride 0)
Tensor contiguous(const Tensor& x);
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis);
// Same value, no gradient (the stop-gradient sg(x) of the loss formulas).
inline Tensor stop_gradient(const Tensor& x) { return x.detach(); }
// Converts between float32 and float64, differentiably.
Tensor cast(const Tensor& x, DType dtype);

// ---- indexing ----
// table [N, ...] rows picked by int32 ids of any shape -> ids.shape + table.shape[1:].
Tensor index_select(const Tensor& table, const Tensor& ids);
// out[..., k, ...] = x[..., index[..., k, ...], ...] along axis (torch.gather).
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// x + scatter of src into positions index along axis (torch.scatter_add).
Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// x where mask is 0, `value` where mask is nonzero (mask broadcasts to x; int32 or float).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// a where cond is nonzero, else b (all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- regularisation ----
// Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).
// Identity when !training or p == 0. The mask comes from `rng`, so runs are reproducible.
Tensor dropout(const Tensor& x, double p, Rng& rng, bool training = true);

}  // namespace tlm
