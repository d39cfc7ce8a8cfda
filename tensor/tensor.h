// Tensor: a shape, strides and an offset over a shared Storage, plus the autograd fields.
//
//   Tensor x = Tensor::zeros({2, 3});             // float32, row-major
//   Tensor w = Tensor::randn({3, 4}, rng, 0.02);  // N(0, 0.02^2)
//   float* p = x.data<float>();                   // points at element [0,0] of this view
//
// A Tensor is a cheap handle (a shared_ptr): copies share data. Views (transpose, narrow,
// reshape of a contiguous tensor) share the Storage and differ only in shape/strides/offset.
// Differentiable operations are free functions in autograd/ops.h; this header knows only
// metadata, raw data access and the autograd fields the engine reads and writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/random.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace tlm {

namespace autograd {
class Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;

  // Autograd: set by ops in autograd/ (tensor/ only stores them).
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;          // accumulated gradient of a leaf
  std::shared_ptr<autograd::Node> grad_fn;   // the node that produced this tensor
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (fresh contiguous storage) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
  static Tensor scalar(double value, DType dtype = DType::F32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape);
  static Tensor randn(const Shape& shape, Rng& rng, double std = 1.0, DType dtype = DType::F32);
  static Tensor uniform(const Shape& shape, Rng& rng, double lo, double hi,
                        DType dtype = DType::F32);
  static Tensor arange(int64_t n, DType dtype = DType::F32);
  // A view of existing storage (used by ops that make views).
  static Tensor make_view(const Tensor& base, Shape shape, Strides strides, int64_t offset);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Strides& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return shape_numel(impl_->shape); }
  bool is_contiguous() const;
  std::string str() const;  // "float32[4,3]"

  // ---- data ----
  template <class T> T* data() {
    check_dtype_(DTypeOf<T>::value);
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  template <class T> const T* data() const {
    check_dtype_(DTypeOf<T>::value);
    return static_cast<const T*>(impl_->storage->data()) + impl_->offset;
  }
  double item() const;  // the value of a one-element tensor, as double
  template <class T> std::vector<T> to_vector() const;  // row-major copy, converting

  // ---- copies (not differentiable; see autograd/ops.h for the differentiable ones) ----
  Tensor contiguous() const;        // itself when already contiguous
  Tensor clone() const;             // always a fresh contiguous copy
  Tensor to(DType dtype) const;     // itself when already of that dtype
  void copy_from(const Tensor& src);  // elementwise copy of same-shape data, in place
  void fill_(double value);

  // ---- autograd fields ----
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool on);  // only on leaves of floating dtype
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  void zero_grad() { impl_->grad.reset(); }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  // Shares the data, drops the history: the result is a leaf that does not require grad.
  Tensor detach() const;
  // Reverse-mode differentiation from this tensor (autograd/engine.cpp). Without an
  // argument, the tensor must hold one element and the seed gradient is 1.
  void backward(const Tensor& grad_output = Tensor()) const;

  // ---- version counter (in-place writes bump it; saved tensors check it) ----
  uint64_t version() const { return impl_->storage->version(); }
  void bump_version() { impl_->storage->bump_version(); }

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same_storage(const Tensor& other) const {
    return impl_->storage == other.impl_->storage;
  }

 private:
  void check_dtype_(DType want) const;
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace tlm

// fmt support: fmt::print("{}", t) prints dtype, shape and a summary of the values.
template <>
struct fmt::formatter<tlm::Tensor> : fmt::formatter<std::string_view> {
  auto format(const tlm::Tensor& t, fmt::format_context& ctx) const -> decltype(ctx.out());
};
