// GradientBuckets: data-parallel gradient averaging over the ranks of a Distributed world.
//
//   g_p  <-  (1/N) Σ_{r=0}^{N-1} g_p,r       for every parameter p (fp32 sum, then scale by 1/N)
//
// so N ranks with micro-batch B each give the gradient of one rank with batch N·B (the loss is
// a mean over rows). Parameters are grouped, last first (the order backward finishes them), into
// fp32 buckets of at most `bucket_bytes` (a larger tensor gets a bucket of its own, whole;
// bucket_bytes = 0 puts every tensor in its own bucket). average() packs a bucket, sums it over
// ranks with one blocking MPI_Allreduce and unpacks it scaled by 1/N, bucket after bucket.
// There is no overlap with the backward pass: the engine has no per-leaf hook, and with one
// thread per core Open MPI moves a non-blocking all-reduce only inside MPI calls; measured here,
// bucketed MPI_Iallreduce + Waitall was slower than blocking calls, and one large all-reduce the
// fastest (docs/distributed.md), hence the large default bucket (dist_bucket_mb).
//
//   GradientBuckets buckets(optimizer->parameters(), 2 << 20);
//   loss.backward();
//   buckets.average(world);   // every rank now holds the same averaged gradients
//
// A parameter without a gradient on this rank contributes zeros; it gets the average only when
// that is non-zero (another rank had a gradient), so in a world of one nothing changes.
#pragma once

#include <cstddef>
#include <vector>

#include "tensor/tensor.h"
#include "train/dist/distributed.h"

namespace tlm::train {

class GradientBuckets {
 public:
  struct Bucket {
    std::vector<size_t> params;  // indices into the parameter list, in packing order
    size_t numel = 0;            // fp32 elements
  };

  GradientBuckets(std::vector<Tensor> params, size_t bucket_bytes);

  // Replaces every gradient by its average over the world's ranks (a no-op in a world of one).
  void average(Distributed& world);

  const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<float>> buffers_;  // one per bucket, reused every step
};

}  // namespace tlm::train
