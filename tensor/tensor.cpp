#include "tensor/tensor.h"

#include <cmath>
#include <cstring>

#include "tensor/kernels/copy.h"

namespace tlm {
namespace {

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype) {
  for (int64_t d : shape) TLM_CHECK(d >= 0, "tensor: negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

template <class T>
Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  TLM_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
            "from_vector: {} values do not fill shape {} ({} elements)", values.size(),
            shape_str(shape), shape_numel(shape));
  Tensor t(new_impl(shape, DTypeOf<T>::value));
  if (!values.empty()) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) { return Tensor(new_impl(shape, dtype)); }

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.impl_->storage->data(), 0, t.impl_->storage->nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  kernels::fill(t, value);
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<int32_t>& v, const Shape& s) { return from_values(v, s); }

Tensor Tensor::randn(const Shape& shape, Rng& rng, double std, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  dispatch_floating(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(rng.normal() * std);
  });
  return t;
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, double lo, double hi, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  dispatch_floating(dtype, "uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(lo + (hi - lo) * rng.uniform());
  });
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::F32: t.data<float>()[i] = static_cast<float>(i); break;
      case DType::F64: t.data<double>()[i] = static_cast<double>(i); break;
      case DType::I32: t.data<int32_t>()[i] = static_cast<int32_t>(i); break;
      case DType::F16: t.data<Fp16>()[i] = Fp16{float_to_fp16(static_cast<float>(i))}; break;
      case DType::BF16: t.data<Bf16>()[i] = Bf16{float_to_bf16(static_cast<float>(i))}; break;
    }
  }
  return t;
}

Tensor Tensor::make_view(const Tensor& base, Shape shape, Strides strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl_->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.impl_->dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t axis) const { return shape()[normalize_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return fmt::format("{}{}", dtype_name(dtype()), shape_str(shape()));
}

void Tensor::check_dtype_(DType want) const {
  TLM_CHECK(defined(), "tensor: access to the data of an undefined tensor");
  TLM_CHECK(dtype() == want, "tensor: data<{}>() on a {} tensor", dtype_name(want), str());
}

double Tensor::item() const {
  TLM_CHECK(defined() && numel() == 1, "item: expected a tensor with one element, got {}", str());
  switch (dtype()) {
    case DType::F32: return *data<float>();
    case DType::F64: return *data<double>();
    case DType::I32: return *data<int32_t>();
    case DType::F16: return fp16_to_float(data<Fp16>()->bits);
    case DType::BF16: return bf16_to_float(data<Bf16>()->bits);
  }
  return 0;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(DTypeOf<T>::value).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  kernels::strided_copy(out, *this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  Tensor out = empty(shape(), dtype);
  kernels::strided_copy(out, *this);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  kernels::strided_copy(*this, src);
  bump_version();
}

void Tensor::fill_(double value) {
  kernels::fill(*this, value);
  bump_version();
}

Tensor& Tensor::set_requires_grad(bool on) {
  TLM_CHECK(!on || is_floating(dtype()), "requires_grad: only floating tensors can require "
            "gradients, got {}", str());
  TLM_CHECK(is_leaf(), "requires_grad: can only be set on a leaf tensor (one not produced by "
            "an op); use detach() first");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), offset());
}

}  // namespace tlm

auto fmt::formatter<tlm::Tensor>::format(const tlm::Tensor& t, fmt::format_context& ctx) const
    -> decltype(ctx.out()) {
  if (!t.defined()) return fmt::format_to(ctx.out(), "Tensor(undefined)");
  std::vector<double> v = t.to_vector<double>();
  std::string values;
  const size_t show = 6;
  for (size_t i = 0; i < v.size() && i < show; ++i) values += fmt::format("{}{:.4g}", i ? ", " : "", v[i]);
  if (v.size() > show) values += ", ...";
  double mn = 0, mx = 0, mean = 0;
  if (!v.empty()) {
    mn = mx = v[0];
    for (double x : v) {
      mn = std::min(mn, x);
      mx = std::max(mx, x);
      mean += x;
    }
    mean /= static_cast<double>(v.size());
  }
  return fmt::format_to(ctx.out(), "Tensor({} [{}] min {:.4g} max {:.4g} mean {:.4g}{})", t.str(),
                        values, mn, mx, mean, t.requires_grad() ? " requires_grad" : "");
}
