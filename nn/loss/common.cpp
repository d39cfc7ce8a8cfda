#include "nn/loss/common.h"

#include <limits>

namespace tlm::nn::detail {

void check_class_targets(const char* loss, const Tensor& logits, const Tensor& targets,
                         int32_t ignore_index) {
  TLM_CHECK(logits.defined() && targets.defined(), "{}: logits and targets must be defined", loss);
  TLM_CHECK(logits.dim() == 2 && is_floating(logits.dtype()),
            "{}: logits {} x targets {}: expected floating logits [N,C], got {}", loss,
            shape_str(logits.shape()), shape_str(targets.shape()), logits.str());
  TLM_CHECK(targets.dtype() == DType::I32,
            "{}: logits {} x targets {}: targets must be int32 class ids, got {}", loss,
            shape_str(logits.shape()), shape_str(targets.shape()), targets.str());
  TLM_CHECK(targets.dim() == 1 && targets.shape()[0] == logits.shape()[0],
            "{}: logits {} x targets {}: expected targets [N] with N = {}", loss,
            shape_str(logits.shape()), shape_str(targets.shape()), logits.shape()[0]);
  const int64_t C = logits.shape()[1];
  TLM_CHECK(C >= 1, "{}: logits {} has no classes", loss, shape_str(logits.shape()));
  std::vector<int32_t> t = targets.to_vector<int32_t>();
  for (size_t i = 0; i < t.size(); ++i)
    TLM_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < C),
              "{}: logits {} x targets {}: target {} at row {} is out of range [0, {}) and is "
              "not ignore_index {}",
              loss, shape_str(logits.shape()), shape_str(targets.shape()), t[i], i, C,
              ignore_index);
}

void check_binary_labels(const char* loss, const Tensor& logits, const Tensor& labels,
                         int32_t ignore_index) {
  TLM_CHECK(logits.defined() && labels.defined(), "{}: logits and labels must be defined", loss);
  TLM_CHECK(is_floating(logits.dtype()), "{}: logits must be float32/float64, got {}", loss,
            logits.str());
  TLM_CHECK(labels.dtype() == DType::I32,
            "{}: logits {} x labels {}: labels must be int32 0/1, "
            "got {}",
            loss, shape_str(logits.shape()), shape_str(labels.shape()), labels.str());
  TLM_CHECK(labels.shape() == logits.shape(),
            "{}: logits {} x labels {}: labels must have the logits' shape", loss,
            shape_str(logits.shape()), shape_str(labels.shape()));
  std::vector<int32_t> y = labels.to_vector<int32_t>();
  for (size_t i = 0; i < y.size(); ++i)
    TLM_CHECK(y[i] == 0 || y[i] == 1 || y[i] == ignore_index,
              "{}: logits {} x labels {}: label {} at element {} is not 0, 1 or ignore_index {}",
              loss, shape_str(logits.shape()), shape_str(labels.shape()), y[i], i, ignore_index);
}

void check_mask(const char* loss, const Shape& shape, const Tensor& mask) {
  if (!mask.defined()) return;
  Shape b = broadcast_shapes(shape, mask.shape(), loss);
  TLM_CHECK(b == shape, "{}: scores {} x mask {}: the mask must broadcast to the scores", loss,
            shape_str(shape), shape_str(mask.shape()));
}

Tensor valid_mask(const Tensor& targets, int32_t ignore_index, DType dtype) {
  std::vector<int32_t> t = targets.to_vector<int32_t>();
  std::vector<double> v(t.size());
  for (size_t i = 0; i < t.size(); ++i) v[i] = t[i] == ignore_index ? 0.0 : 1.0;
  return Tensor::from_vector(v, targets.shape()).to(dtype);
}

Tensor safe_targets(const Tensor& targets, int32_t ignore_index) {
  std::vector<int32_t> t = targets.to_vector<int32_t>();
  for (int32_t& v : t)
    if (v == ignore_index) v = 0;
  return Tensor::from_vector(t, targets.shape());
}

Tensor masked_mean(const Tensor& x, const Tensor& keep) {
  double count = 0;
  {
    NoGradGuard no_grad;
    Tensor k = keep.to(DType::F64);
    Tensor nz = where(k, Tensor::ones({}, DType::F64), Tensor::zeros({}, DType::F64));
    nz = add(nz, Tensor::zeros(x.shape(), DType::F64));  // broadcast to x's shape
    count = sum(nz).item();
  }
  Tensor kept = where(keep, x, Tensor::zeros({}, x.dtype()));
  return mul(sum(kept), 1.0 / std::max(count, 1.0));
}

Tensor lse_with_zero(const Tensor& x, const Tensor& keep, int64_t axis) {
  axis = normalize_axis(axis, x.dim(), "lse_with_zero");
  Tensor skipped =
      keep.defined()
          ? where(keep, x, Tensor::full({}, -std::numeric_limits<double>::infinity(), x.dtype()))
          : x;
  Shape zshape = x.shape();
  zshape[axis] = 1;
  return logsumexp(concat({skipped, Tensor::zeros(zshape, x.dtype())}, axis), axis);
}

Tensor target_log_prob(const Tensor& logits, const Tensor& safe_targets) {
  Tensor idx = reshape(safe_targets, {safe_targets.numel(), 1});
  return reshape(gather(log_softmax(logits, -1), 1, idx), {safe_targets.numel()});
}

}  // namespace tlm::nn::detail
