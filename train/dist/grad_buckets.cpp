#include "train/dist/grad_buckets.h"

#include <cstring>

#include "tensor/error.h"

namespace tlm::train {

GradientBuckets::GradientBuckets(std::vector<Tensor> params, size_t bucket_bytes)
    : params_(std::move(params)) {
  // bucket_bytes = 0: one tensor per bucket (the plain path: one all-reduce per tensor).
  const size_t cap = std::max<size_t>(1, bucket_bytes / sizeof(float));
  Bucket current;
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    TLM_CHECK(p.dtype() == DType::F32, "distributed: parameter {} is {}; gradient averaging "
              "is fp32 only", k, p.str());
    const size_t n = static_cast<size_t>(p.numel());
    if (!current.params.empty() && current.numel + n > cap) {
      buckets_.push_back(std::move(current));
      current = Bucket{};
    }
    current.params.push_back(k);
    current.numel += n;
  }
  if (!current.params.empty()) buckets_.push_back(std::move(current));
  buffers_.resize(buckets_.size());
  for (size_t b = 0; b < buckets_.size(); ++b) buffers_[b].resize(buckets_[b].numel);
}

void GradientBuckets::average(Distributed& world) {
  if (world.size() == 1) return;
  const float scale = 1.0f / static_cast<float>(world.size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    std::vector<float>& buf = buffers_[b];
    float* dst = buf.data();
    for (size_t k : buckets_[b].params) {  // pack
      const Tensor& p = params_[k];
      const size_t n = static_cast<size_t>(p.numel());
      Tensor g = p.grad();
      if (g.defined()) {
        TLM_CHECK(g.shape() == p.shape() && g.dtype() == DType::F32,
                  "distributed: gradient {} of parameter {} does not match it", g.str(), p.str());
        Tensor c = g.contiguous();
        std::memcpy(dst, c.data<float>(), n * sizeof(float));
      } else {
        std::memset(dst, 0, n * sizeof(float));
      }
      dst += n;
    }
    world.allreduce_sum(buf.data(), buf.size());
    const float* src = buf.data();
    for (size_t k : buckets_[b].params) {  // unpack, scaled by 1/N
      Tensor p = params_[k];
      const size_t n = static_cast<size_t>(p.numel());
      Tensor g = p.grad();
      bool nonzero = g.defined();
      for (size_t i = 0; i < n && !nonzero; ++i) nonzero = src[i] != 0.0f;
      if (nonzero) {
        if (!g.defined() || !g.is_contiguous()) {
          g = Tensor::empty(p.shape(), DType::F32);
          p.set_grad(g);
        }
        float* out = g.data<float>();
        for (size_t i = 0; i < n; ++i) out[i] = src[i] * scale;
        g.bump_version();
      }
      src += n;
    }
  }
}

}  // namespace tlm::train
