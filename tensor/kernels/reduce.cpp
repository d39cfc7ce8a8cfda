#include "tensor/kernels/reduce.h"

#include "tensor/profile.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"

namespace tlm::kernels {
namespace {

// x (contiguous) seen as [outer, n, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
  Shape out_shape;
};

AxisView axis_view(const Tensor& x, int64_t axis, bool keepdim) {
  AxisView v;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < axis) v.outer *= x.shape()[i];
    if (i > axis) v.inner *= x.shape()[i];
    if (i == axis) {
      v.n = x.shape()[i];
      if (keepdim) v.out_shape.push_back(1);
    } else {
      v.out_shape.push_back(x.shape()[i]);
    }
  }
  return v;
}

// reduce(row pointer, stride between elements, n) -> value, applied to every (outer, inner).
template <class T, class Reduce>
void reduce_axis(const T* x, T* out, const AxisView& v, Reduce reduce) {
  const int64_t total = v.outer * v.inner;
#pragma omp parallel for if (total * v.n >= kParallelGrain) schedule(static)
  for (int64_t idx = 0; idx < total; ++idx) {
    int64_t o = idx / v.inner, i = idx % v.inner;
    out[idx] = reduce(x + o * v.n * v.inner + i, v.inner, v.n, idx);
  }
}

}  // namespace

Tensor sum_axis(const Tensor& x_in, int64_t axis, bool keepdim) {
  TLM_PROFILE(Reduce);
  axis = normalize_axis(axis, x_in.dim(), "sum");
  Tensor x = x_in.contiguous();
  AxisView v = axis_view(x, axis, keepdim);
  Tensor out = Tensor::empty(v.out_shape, x.dtype());
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    if (v.inner == 1) {
      reduce_axis<T>(x.data<T>(), out.data<T>(), v, [](const T* p, int64_t, int64_t n, int64_t) {
        T s = 0;
        for (int64_t k = 0; k < n; ++k) s += p[k];
        return s;
      });
      return;
    }
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    if (v.outer == 1 && v.n > kSumRowBlock) {
      // One sum of many rows (a bias gradient: [tokens, C] -> [C]): the sums of blocks of 64
      // rows, each thread taking a contiguous range of blocks (the rows its core wrote: a
      // core here reads the other core's data at a third of the speed), then the block sums
      // added in block order. Fixed blocks: the same result on any number of threads.
      const int64_t nb = (v.n + kSumRowBlock - 1) / kSumRowBlock, C = v.inner;
      std::vector<T> partial(static_cast<size_t>(nb * C));
#pragma omp parallel if (x.numel() >= kParallelGrain)
      {
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; ++b)
          sum_row_blocks(xp, C, b * kSumRowBlock, std::min(v.n, (b + 1) * kSumRowBlock),
                         partial.data());
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        add_block_sums(partial.data(), nb, C, t * C / nt, (t + 1) * C / nt, op);
      }
      return;
    }
    // Sums of rows: accumulate row by row so the inner loop is contiguous, in (outer index,
    // block of 64 columns) pieces; each output element is summed in row order by one thread.
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (v.inner + kBlock - 1) / kBlock;
#pragma omp parallel for if (x.numel() >= kParallelGrain) schedule(static)
    for (int64_t piece = 0; piece < v.outer * blocks; ++piece) {
      const int64_t o = piece / blocks, lo = piece % blocks * kBlock;
      const int64_t hi = std::min(v.inner, lo + kBlock);
      T* __restrict dst = op + o * v.inner;
      for (int64_t i = lo; i < hi; ++i) dst[i] = 0;
      for (int64_t k = 0; k < v.n; ++k) {
        const T* __restrict src = xp + (o * v.n + k) * v.inner;
#pragma omp simd
        for (int64_t i = lo; i < hi; ++i) dst[i] += src[i];
      }
    }
  });
  return out;
}

Tensor max_axis(const Tensor& x_in, int64_t axis, bool keepdim, Tensor* argmax) {
  TLM_PROFILE(Reduce);
  axis = normalize_axis(axis, x_in.dim(), "max");
  TLM_CHECK(x_in.shape()[axis] > 0, "max: cannot reduce an empty axis of {}", x_in.str());
  Tensor x = x_in.contiguous();
  AxisView v = axis_view(x, axis, keepdim);
  Tensor out = Tensor::empty(v.out_shape, x.dtype());
  Tensor idx = Tensor::empty(v.out_shape, DType::I32);
  int32_t* ip = idx.data<int32_t>();
  dispatch_floating(x.dtype(), "max", [&](auto tag) {
    using T = decltype(tag);
    reduce_axis<T>(x.data<T>(), out.data<T>(), v, [ip](const T* p, int64_t s, int64_t n, int64_t at) {
      T m = p[0];
      int32_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        if (p[k * s] > m || std::isnan(p[k * s])) {
          m = p[k * s];
          best = static_cast<int32_t>(k);
          if (std::isnan(m)) break;
        }
      }
      ip[at] = best;
      return m;
    });
  });
  if (argmax) *argmax = idx;
  return out;
}

Tensor logsumexp_axis(const Tensor& x_in, int64_t axis, bool keepdim) {
  TLM_PROFILE(Reduce);
  axis = normalize_axis(axis, x_in.dim(), "logsumexp");
  Tensor x = x_in.contiguous();
  AxisView v = axis_view(x, axis, keepdim);
  Tensor out = Tensor::empty(v.out_shape, x.dtype());
  dispatch_floating(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    reduce_axis<T>(x.data<T>(), out.data<T>(), v, [](const T* p, int64_t s, int64_t n, int64_t) {
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < n; ++k) m = std::max(m, p[k * s]);
      if (std::isinf(m)) return m;  // all -inf (or an +inf): the sum is exp(m)
      T acc = 0;
      for (int64_t k = 0; k < n; ++k) acc += vexp(p[k * s] - m);
      return m + std::log(acc);
    });
  });
  return out;
}

// Sum of term(p[i]) over all i, accumulated in double: one contiguous range per thread
// (vectorised with several double accumulators), partial sums combined in thread order, so
// the result is the same on every run with the same thread count.
template <class T, class Term>
double deterministic_sum(const T* p, int64_t n, Term term) {
  const int nt = n >= kParallelGrain ? omp_get_max_threads() : 1;
  std::vector<double> partial(nt, 0.0);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t lo = std::min(n, t * chunk), hi = std::min(n, lo + chunk);
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = lo; i < hi; ++i) s += term(static_cast<double>(p[i]));
    partial[t] = s;
  }
  double s = 0;
  for (double v : partial) s += v;
  return s;
}

Tensor sum_all(const Tensor& x_in) {
  TLM_PROFILE(Reduce);
  Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty({}, x.dtype());
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    *out.data<T>() = static_cast<T>(deterministic_sum(x.data<T>(), x.numel(), [](double v) { return v; }));
  });
  return out;
}

double sum_squares(const Tensor& x_in) {
  TLM_PROFILE(Reduce);
  Tensor x = x_in.contiguous();
  double result = 0;
  dispatch_floating(x.dtype(), "sum_squares", [&](auto tag) {
    using T = decltype(tag);
    result = deterministic_sum(x.data<T>(), x.numel(), [](double v) { return v * v; });
  });
  return result;
}

double sum_squares_many(const std::vector<Tensor>& xs_in) {
  TLM_PROFILE(Reduce);
  constexpr int64_t kChunk = 4096;  // fixed, so the sum does not depend on the thread count
  struct Chunk {
    size_t tensor;
    int64_t lo, hi;
  };
  std::vector<Tensor> xs;
  std::vector<Chunk> chunks;
  int64_t total = 0;
  for (const Tensor& x_in : xs_in) {
    Tensor x = x_in.contiguous();
    TLM_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::F64,
              "sum_squares: {} must be float32 or float64", x.str());
    for (int64_t lo = 0; lo < x.numel(); lo += kChunk)
      chunks.push_back({xs.size(), lo, std::min(x.numel(), lo + kChunk)});
    total += x.numel();
    xs.push_back(x);
  }
  auto chunk_sum = [&](const Chunk& ch) {
    const Tensor& x = xs[ch.tensor];
    double s = 0;
    if (x.dtype() == DType::F32) {
      const float* p = x.data<float>();
#pragma omp simd reduction(+ : s)
      for (int64_t i = ch.lo; i < ch.hi; ++i) s += static_cast<double>(p[i]) * p[i];
    } else {
      const double* p = x.data<double>();
#pragma omp simd reduction(+ : s)
      for (int64_t i = ch.lo; i < ch.hi; ++i) s += p[i] * p[i];
    }
    return s;
  };
  std::vector<double> sums(chunks.size(), 0.0);
  // Each thread takes the same contiguous share of every tensor's chunks (the rows its core
  // wrote the gradient of, as the kernels that wrote them split rows), not a share of one list.
#pragma omp parallel if (total >= kParallelGrain)
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    size_t first = 0;
    while (first < chunks.size()) {
      size_t last = first;
      while (last < chunks.size() && chunks[last].tensor == chunks[first].tensor) ++last;
      const int64_t len = static_cast<int64_t>(last - first);
      for (int64_t c = static_cast<int64_t>(first) + t * len / T;
           c < static_cast<int64_t>(first) + (t + 1) * len / T; ++c)
        sums[static_cast<size_t>(c)] = chunk_sum(chunks[static_cast<size_t>(c)]);
      first = last;
    }
  }
  double s = 0;
  for (double v : sums) s += v;
  return s;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  TLM_PROFILE(Reduce);
  if (x.shape() == shape) return x;
  Shape check = broadcast_shapes(x.shape(), shape, "sum_to");
  TLM_CHECK(check == x.shape(), "sum_to: {} cannot be reduced to {}", shape_str(x.shape()),
            shape_str(shape));
  // Sum away the leading dimensions, then every dimension that is 1 in the target.
  Tensor r = x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  if (lead > 0) {
    int64_t rows = 1;
    for (int64_t i = 0; i < lead; ++i) rows *= x.shape()[i];
    Shape flat = {rows};
    flat.insert(flat.end(), x.shape().begin() + lead, x.shape().end());
    Tensor xc = x.contiguous();
    r = sum_axis(Tensor::make_view(xc, flat, contiguous_strides(flat), xc.offset()), 0, false);
  }
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && r.shape()[i] != 1) r = sum_axis(r, static_cast<int64_t>(i), true);
  return r;
}

}  // namespace tlm::kernels
