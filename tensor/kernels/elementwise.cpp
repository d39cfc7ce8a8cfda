#include "tensor/kernels/elementwise.h"

#include "tensor/profile.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"

namespace tlm::kernels {
namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;   // sqrt(2/pi)
constexpr double kInvSqrt2 = 0.7071067811865476;      // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.3989422804014327;    // 1/sqrt(2 pi)

template <class T> inline T sigmoid(T x) { return vsigmoid(x); }
template <class T> inline T softplus(T x) {  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
  return std::max(x, T(0)) + std::log1p(vexp(-std::abs(x)));
}

// exp(-x^2 / 2), the unnormalised normal density. In float the exponent is clamped at -87 so
// the fast vexp_normal applies (exp(-87) ~ 1.6e-38: x phi(x) is below any float gradient there).
inline float gauss_kernel(float x) {
  float h = -0.5f * x * x;
  return vexp_normal(h > -87.0f ? h : -87.0f);
}
inline double gauss_kernel(double x) { return std::exp(-0.5 * x * x); }

// f(x) for each op.
template <class T>
inline T apply_unary(Unary op, T x, T p) {
  switch (op) {
    case Unary::Neg: return -x;
    case Unary::Exp: return vexp(x);
    case Unary::Log: return std::log(x);
    case Unary::Sqrt: return std::sqrt(x);
    case Unary::Rsqrt: return T(1) / std::sqrt(x);
    case Unary::Tanh: return vtanh(x);
    case Unary::Sigmoid: return sigmoid(x);
    case Unary::Relu: return x > 0 ? x : T(0);
    case Unary::Relu2: return x > 0 ? x * x : T(0);
    // GELU (Hendrycks & Gimpel, arXiv:1606.08415): x * Phi(x), exact and tanh forms.
    case Unary::Gelu: return x * vnormcdf(x);
    case Unary::GeluTanh:
      return T(0.5) * x * (T(1) + vtanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case Unary::Silu: return x * sigmoid(x);
    case Unary::Square: return x * x;
    case Unary::Abs: return std::abs(x);
    case Unary::Softplus: return softplus(x);
    case Unary::LogSigmoid: return -softplus(-x);
    case Unary::AddScalar: return x + p;
    case Unary::MulScalar: return x * p;
    case Unary::PowScalar: return std::pow(x, p);
    case Unary::RSubScalar: return p - x;
    case Unary::RDivScalar: return p / x;
    case Unary::ClampMin: return x < p ? p : x;
    case Unary::ClampMax: return x > p ? p : x;
    case Unary::Count: break;
  }
  return x;
}

// f'(x), given x and y = f(x).
template <class T>
inline T derivative(Unary op, T x, T y, T p) {
  switch (op) {
    case Unary::Neg: return T(-1);
    case Unary::Exp: return y;
    case Unary::Log: return T(1) / x;
    case Unary::Sqrt: return T(0.5) / y;
    case Unary::Rsqrt: return T(-0.5) * y * y * y;
    case Unary::Tanh: return T(1) - y * y;
    case Unary::Sigmoid: return y * (T(1) - y);
    case Unary::Relu: return x > 0 ? T(1) : T(0);
    case Unary::Relu2: return x > 0 ? T(2) * x : T(0);
    case Unary::Gelu:  // Phi(x) + x phi(x)
      return vnormcdf(x) + x * T(kInvSqrt2Pi) * gauss_kernel(x);
    case Unary::GeluTanh: {
      T u = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
      T t = vtanh(u);
      T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    case Unary::Silu: {
      T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Unary::Square: return T(2) * x;
    case Unary::Abs: return x > 0 ? T(1) : (x < 0 ? T(-1) : T(0));
    case Unary::Softplus: return sigmoid(x);
    case Unary::LogSigmoid: return sigmoid(-x);
    case Unary::AddScalar: return T(1);
    case Unary::MulScalar: return p;
    case Unary::PowScalar: return p * std::pow(x, p - T(1));
    case Unary::RSubScalar: return T(-1);
    case Unary::RDivScalar: return -y / x;
    case Unary::ClampMin: return x < p ? T(0) : T(1);
    case Unary::ClampMax: return x > p ? T(0) : T(1);
    case Unary::Count: break;
  }
  return T(0);
}

// Loops specialised per op so the compiler can vectorise the common ones.
//
// Each thread takes one contiguous range and runs a private copy of `f`. The callers'
// lambdas capture by value ([=]): a lambda that captured the caller's pointers by reference
// would re-read them from the caller's stack frame on every element, from every thread,
// next to the runtime's own shared variables; measured here, that made a 393K-element add
// 10x slower on one thread and 40x slower on two (false sharing).
template <class T, class F>
void map_n(int64_t n, F f) {
#pragma omp parallel if (n >= kParallelGrain)
  {
    const F g = f;
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = ((n + nt - 1) / nt + 15) / 16 * 16;  // whole cache lines per thread
    const int64_t lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
    for (int64_t i = lo; i < hi; ++i) g(i);
  }
}

// Calls fn(std::integral_constant<Unary, op>{}): inside fn the op is a compile-time
// constant, so apply_unary/derivative fold to one formula and the loop vectorises.
template <class Fn>
void with_static_op(Unary op, Fn&& fn) {
  switch (op) {
#define TLM_UNARY_CASE(name) \
  case Unary::name: fn(std::integral_constant<Unary, Unary::name>{}); return;
    TLM_UNARY_CASE(Neg) TLM_UNARY_CASE(Exp) TLM_UNARY_CASE(Log) TLM_UNARY_CASE(Sqrt)
    TLM_UNARY_CASE(Rsqrt) TLM_UNARY_CASE(Tanh) TLM_UNARY_CASE(Sigmoid) TLM_UNARY_CASE(Relu)
    TLM_UNARY_CASE(Relu2) TLM_UNARY_CASE(Gelu) TLM_UNARY_CASE(GeluTanh) TLM_UNARY_CASE(Silu)
    TLM_UNARY_CASE(Square) TLM_UNARY_CASE(Abs) TLM_UNARY_CASE(Softplus) TLM_UNARY_CASE(LogSigmoid)
    TLM_UNARY_CASE(AddScalar) TLM_UNARY_CASE(MulScalar) TLM_UNARY_CASE(PowScalar)
    TLM_UNARY_CASE(RSubScalar) TLM_UNARY_CASE(RDivScalar) TLM_UNARY_CASE(ClampMin)
    TLM_UNARY_CASE(ClampMax)
#undef TLM_UNARY_CASE
    case Unary::Count: break;
  }
  TLM_FAIL("unary: unknown op {}", static_cast<int>(op));
}

template <class T>
inline T apply_binary(Binary op, T a, T b) {
  switch (op) {
    case Binary::Add: return a + b;
    case Binary::Sub: return a - b;
    case Binary::Mul: return a * b;
    case Binary::Div: return a / b;
    case Binary::Maximum: return a > b ? a : b;
    case Binary::Minimum: return a < b ? a : b;
    case Binary::Count: break;
  }
  return a;
}

// Strides of `t` seen as a tensor of shape `out` (0 along broadcast dimensions).
Strides broadcast_strides(const Tensor& t, const Shape& out) {
  Strides s(out.size(), 0);
  size_t lead = out.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    s[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return s;
}

template <class T>
void binary_strided(T* out, const Strides& so, const T* a, const Strides& sa, const T* b,
                    const Strides& sb, const Shape& shape, Binary op) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (shape.empty()) {
    out[0] = apply_binary(op, a[0], b[0]);
    return;
  }
  // Same shape, all contiguous: one flat loop over every element (parallel even when the
  // tensor is a single long row).
  const Strides dense = contiguous_strides(shape);
  auto is_dense = [&](const Strides& st) {
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] != 1 && st[d] != dense[d]) return false;
    return true;
  };
  if (is_dense(so) && is_dense(sa) && is_dense(sb)) {
    switch (op) {
      case Binary::Add: map_n<T>(n, [=](int64_t i) { out[i] = a[i] + b[i]; }); return;
      case Binary::Sub: map_n<T>(n, [=](int64_t i) { out[i] = a[i] - b[i]; }); return;
      case Binary::Mul: map_n<T>(n, [=](int64_t i) { out[i] = a[i] * b[i]; }); return;
      case Binary::Div: map_n<T>(n, [=](int64_t i) { out[i] = a[i] / b[i]; }); return;
      default: map_n<T>(n, [=](int64_t i) { out[i] = apply_binary(op, a[i], b[i]); }); return;
    }
  }
  const int64_t inner = shape.back();
  const int64_t rows = n / inner;
  const int64_t oi = so.back(), ai = sa.back(), bi = sb.back();
  const Strides* strides[3] = {&so, &sa, &sb};
#pragma omp parallel for if (n >= kParallelGrain) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off[3];
    row_offsets(r, shape, strides, 3, off);
    T* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    switch (op) {  // the hot cases get their own vectorisable loops
      case Binary::Add:
        if (oi == 1 && ai == 1 && bi == 1) {
          for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] + pb[i];
          continue;
        }
        if (oi == 1 && ai == 1 && bi == 0) {
          for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] + pb[0];
          continue;
        }
        break;
      case Binary::Mul:
        if (oi == 1 && ai == 1 && bi == 1) {
          for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] * pb[i];
          continue;
        }
        if (oi == 1 && ai == 1 && bi == 0) {
          for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] * pb[0];
          continue;
        }
        break;
      default: break;
    }
    for (int64_t i = 0; i < inner; ++i) o[i * oi] = apply_binary(op, pa[i * ai], pb[i * bi]);
  }
}

}  // namespace

const char* unary_name(Unary op) {
  static const char* const kNames[] = {
      "neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "relu2", "gelu",
      "gelu_tanh", "silu", "square", "abs", "softplus", "log_sigmoid", "add_scalar",
      "mul_scalar", "pow_scalar", "rsub_scalar", "rdiv_scalar", "clamp_min", "clamp_max"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Unary::Count),
                "unary_name: the name table must list every Unary op");
  return kNames[static_cast<int>(op)];
}

const char* binary_name(Binary op) {
  static const char* const kNames[] = {"add", "sub", "mul", "div", "maximum", "minimum"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Binary::Count),
                "binary_name: the name table must list every Binary op");
  return kNames[static_cast<int>(op)];
}

namespace {

// y = f(x), and f'(x) into *dydx when it is given, in one pass.
Tensor unary_pass(const Tensor& x_in, Unary op, double p, Tensor* dydx) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (dydx) *dydx = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), unary_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    T* dp = dydx ? dydx->data<T>() : nullptr;
    const T pp = static_cast<T>(p);
    with_static_op(op, [&](auto op_c) {
      constexpr Unary kOp = decltype(op_c)::value;
      if (!dp) {
        map_n<T>(n, [=](int64_t i) { yp[i] = apply_unary(kOp, xp[i], pp); });
        return;
      }
      map_n<T>(n, [=](int64_t i) {
        const T xi = xp[i], yi = apply_unary(kOp, xi, pp);
        yp[i] = yi;
        dp[i] = derivative(kOp, xi, yi, pp);
      });
    });
  });
  return y;
}

}  // namespace

Tensor unary(const Tensor& x, Unary op, double p) {
  TLM_PROFILE(Elementwise);
  return unary_pass(x, op, p, nullptr);
}

Tensor unary_with_derivative(const Tensor& x, Unary op, double p, Tensor* dydx) {
  TLM_PROFILE(Elementwise);
  return unary_pass(x, op, p, dydx);
}

Tensor unary_backward(const Tensor& grad_in, const Tensor& x_in, const Tensor& y_in, Unary op,
                      double p) {
  TLM_PROFILE(Elementwise);
  for (const Tensor* t : {&x_in, &y_in})
    TLM_CHECK(!t->defined() || grad_in.shape() == t->shape(),
              "{} backward: gradient {} does not match input {}", unary_name(op),
              shape_str(grad_in.shape()), shape_str(t->shape()));
  Tensor g = grad_in.contiguous();
  Tensor x = x_in.defined() ? x_in.contiguous() : Tensor();
  Tensor y = y_in.defined() ? y_in.contiguous() : Tensor();
  Tensor out = Tensor::empty(g.shape(), g.dtype());
  const int64_t n = g.numel();
  dispatch_floating(g.dtype(), unary_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* gp = g.data<T>();
    // An op whose derivative ignores x (or y) is given g's data in its place: the loop is
    // vectorised, and a vector loop may load an operand whatever the op does with it.
    const T* xp = x.defined() ? x.data<T>() : gp;
    const T* yp = y.defined() ? y.data<T>() : gp;
    T* op_ = out.data<T>();
    const T pp = static_cast<T>(p);
    with_static_op(op, [&](auto op_c) {
      constexpr Unary kOp = decltype(op_c)::value;
      map_n<T>(n, [=](int64_t i) { op_[i] = gp[i] * derivative(kOp, xp[i], yp[i], pp); });
    });
  });
  return out;
}

Tensor binary(const Tensor& a, const Tensor& b, Binary op) {
  TLM_PROFILE(Elementwise);
  TLM_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ: {} and {}", binary_name(op), a.str(),
            b.str());
  Shape shape = broadcast_shapes(a.shape(), b.shape(), binary_name(op));
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch_floating(a.dtype(), binary_name(op), [&](auto tag) {
    using T = decltype(tag);
    binary_strided<T>(out.data<T>(), out.strides(), a.data<T>(), broadcast_strides(a, shape),
                      b.data<T>(), broadcast_strides(b, shape), shape, op);
  });
  return out;
}

void binary_(Tensor& a, const Tensor& b, Binary op) {
  TLM_PROFILE(Elementwise);
  TLM_CHECK(a.dtype() == b.dtype(), "{}_: dtypes differ: {} and {}", binary_name(op), a.str(),
            b.str());
  Shape shape = broadcast_shapes(a.shape(), b.shape(), binary_name(op));
  TLM_CHECK(shape == a.shape(), "{}_: {} cannot be broadcast to the in-place target {}",
            binary_name(op), shape_str(b.shape()), shape_str(a.shape()));
  dispatch_floating(a.dtype(), binary_name(op), [&](auto tag) {
    using T = decltype(tag);
    binary_strided<T>(a.data<T>(), a.strides(), a.data<T>(), a.strides(), b.data<T>(),
                      broadcast_strides(b, shape), shape, op);
  });
  a.bump_version();
}

void axpy_(Tensor& a, const Tensor& b_in, double alpha) {
  TLM_PROFILE(Elementwise);
  TLM_CHECK(a.shape() == b_in.shape() && a.dtype() == b_in.dtype(),
            "axpy_: {} and {} differ", a.str(), b_in.str());
  TLM_CHECK(a.is_contiguous(), "axpy_: target must be contiguous, got {}", a.str());
  Tensor b = b_in.contiguous();
  const int64_t n = a.numel();
  dispatch_floating(a.dtype(), "axpy_", [&](auto tag) {
    using T = decltype(tag);
    T* ap = a.data<T>();
    const T* bp = b.data<T>();
    const T al = static_cast<T>(alpha);
    map_n<T>(n, [=](int64_t i) { ap[i] += al * bp[i]; });
  });
  a.bump_version();
}

Tensor where(const Tensor& cond_in, const Tensor& a, const Tensor& b) {
  TLM_PROFILE(Elementwise);
  TLM_CHECK(a.dtype() == b.dtype(), "where: dtypes differ: {} and {}", a.str(), b.str());
  Shape shape = broadcast_shapes(broadcast_shapes(cond_in.shape(), a.shape(), "where"),
                                 b.shape(), "where");
  // Materialise the broadcast condition as 0/1 in a's dtype, then blend.
  Tensor cond = Tensor::empty(shape, a.dtype());
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    Tensor c = cond_in.to(a.dtype());
    Tensor ones = Tensor::zeros({}, a.dtype());
    binary_strided<T>(cond.data<T>(), cond.strides(), c.data<T>(), broadcast_strides(c, shape),
                      ones.data<T>(), Strides(shape.size(), 0), shape, Binary::Add);
    Tensor ab = Tensor::empty(shape, a.dtype());
    Tensor bb = Tensor::empty(shape, a.dtype());
    binary_strided<T>(ab.data<T>(), ab.strides(), a.data<T>(), broadcast_strides(a, shape),
                      ones.data<T>(), Strides(shape.size(), 0), shape, Binary::Add);
    binary_strided<T>(bb.data<T>(), bb.strides(), b.data<T>(), broadcast_strides(b, shape),
                      ones.data<T>(), Strides(shape.size(), 0), shape, Binary::Add);
    const T* cp = cond.data<T>();
    const T* ap = ab.data<T>();
    const T* bp = bb.data<T>();
    T* op_ = out.data<T>();
    map_n<T>(out.numel(), [=](int64_t i) { op_[i] = cp[i] != T(0) ? ap[i] : bp[i]; });
  });
  return out;
}

}  // namespace tlm::kernels
