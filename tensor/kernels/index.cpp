#include "tensor/kernels/index.h"

#include "tensor/profile.h"

#include <omp.h>

#include <cstring>

#include "tensor/kernels/parallel.h"

namespace tlm::kernels {
namespace {

void check_ids(const Tensor& ids, int64_t n, const char* op) {
  TLM_CHECK(ids.dtype() == DType::I32, "{}: indices must be int32, got {}", op, ids.str());
  const int32_t* p = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    TLM_CHECK(p[i] >= 0 && p[i] < n, "{}: index {} is out of range [0, {})", op, p[i], n);
}

}  // namespace

Tensor index_select_rows(const Tensor& x_in, const Tensor& ids_in) {
  TLM_PROFILE(Index);
  TLM_CHECK(x_in.dim() >= 1, "index_select: expected a table of at least 1-D, got {}", x_in.str());
  Tensor x = x_in.contiguous();
  Tensor ids = ids_in.contiguous();
  check_ids(ids, x.shape()[0], "index_select");
  Shape out_shape = ids.shape();
  out_shape.insert(out_shape.end(), x.shape().begin() + 1, x.shape().end());
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const int64_t row = x.numel() / std::max<int64_t>(x.shape()[0], 1);
  const int64_t n = ids.numel();
  const size_t bytes = static_cast<size_t>(row) * dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.impl()->storage->data()) + x.offset() * dtype_size(x.dtype());
  char* dst = static_cast<char*>(out.impl()->storage->data());
  const int32_t* ip = ids.data<int32_t>();
#pragma omp parallel for if (n * row >= kParallelGrain) schedule(static)
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * bytes, src + ip[i] * bytes, bytes);
  return out;
}

void index_add_rows_(Tensor& dst, const Tensor& ids_in, const Tensor& src_in) {
  TLM_PROFILE(Index);
  TLM_CHECK(dst.is_contiguous(), "index_add: target must be contiguous, got {}", dst.str());
  Tensor ids = ids_in.contiguous();
  Tensor src = src_in.contiguous();
  check_ids(ids, dst.shape()[0], "index_add");
  const int64_t row = dst.numel() / std::max<int64_t>(dst.shape()[0], 1);
  TLM_CHECK(src.numel() == ids.numel() * row, "index_add: source {} does not match {} ids of "
            "rows of {}", src.str(), ids.numel(), dst.str());
  const int64_t n = ids.numel();
  const int32_t* ip = ids.data<int32_t>();
  dispatch_floating(dst.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    // Parallel over columns: every thread walks all ids in order, so rows hit twice are
    // summed in a fixed order (deterministic) and no two threads write the same element.
#pragma omp parallel if (n * row >= kParallelGrain)
    {
      int nt = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t chunk = (row + nt - 1) / nt;
      int64_t lo = t * chunk, hi = std::min(row, lo + chunk);
      for (int64_t i = 0; i < n; ++i) {
        T* drow = d + ip[i] * row;
        const T* srow = s + i * row;
        for (int64_t c = lo; c < hi; ++c) drow[c] += srow[c];
      }
    }
  });
  dst.bump_version();
}

Tensor gather(const Tensor& x_in, int64_t axis, const Tensor& index_in) {
  TLM_PROFILE(Index);
  axis = normalize_axis(axis, x_in.dim(), "gather");
  TLM_CHECK(index_in.dim() == x_in.dim(), "gather: index {} and input {} differ in rank",
            index_in.str(), x_in.str());
  for (int64_t d = 0; d < x_in.dim(); ++d)
    TLM_CHECK(d == axis || index_in.shape()[d] == x_in.shape()[d],
              "gather: index {} and input {} differ outside axis {}", shape_str(index_in.shape()),
              shape_str(x_in.shape()), axis);
  Tensor x = x_in.contiguous();
  Tensor index = index_in.contiguous();
  check_ids(index, x.shape()[axis], "gather");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape()[d];
  const int64_t n = x.shape()[axis], m = index.shape()[axis];
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  const int32_t* ip = index.data<int32_t>();
  dispatch_floating(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
#pragma omp parallel for if (outer * m * inner >= kParallelGrain) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < m; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t at = (o * m + k) * inner + i;
          op[at] = xp[(o * n + ip[at]) * inner + i];
        }
  });
  return out;
}

void scatter_add_(Tensor& dst, int64_t axis, const Tensor& index_in, const Tensor& src_in) {
  TLM_PROFILE(Index);
  axis = normalize_axis(axis, dst.dim(), "scatter_add");
  TLM_CHECK(dst.is_contiguous(), "scatter_add: target must be contiguous, got {}", dst.str());
  TLM_CHECK(index_in.shape() == src_in.shape(), "scatter_add: index {} and source {} differ",
            shape_str(index_in.shape()), shape_str(src_in.shape()));
  TLM_CHECK(index_in.dim() == dst.dim(), "scatter_add: index {} and target {} differ in rank",
            index_in.str(), dst.str());
  Tensor index = index_in.contiguous();
  Tensor src = src_in.contiguous();
  check_ids(index, dst.shape()[axis], "scatter_add");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dst.shape()[d];
  for (int64_t d = axis + 1; d < dst.dim(); ++d) inner *= dst.shape()[d];
  const int64_t n = dst.shape()[axis], m = index.shape()[axis];
  const int32_t* ip = index.data<int32_t>();
  dispatch_floating(dst.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    T* dp = dst.data<T>();
    const T* sp = src.data<T>();
    // Each outer slice is owned by one thread: no two threads write the same element.
#pragma omp parallel for if (outer * m * inner >= kParallelGrain) schedule(static)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < m; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t at = (o * m + k) * inner + i;
          dp[(o * n + ip[at]) * inner + i] += sp[at];
        }
  });
  dst.bump_version();
}

}  // namespace tlm::kernels
