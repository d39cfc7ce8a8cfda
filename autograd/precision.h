// Mixed precision emulation: a precision policy for one scope, like NoGradGuard.
//
//   {
//     PrecisionGuard amp(Precision::F16);   // this thread, until the guard dies
//     Tensor loss = model(x);               // matmul inputs rounded to fp16, fp32 accumulation
//     loss.backward();                      // gradients through matmuls rounded to fp16
//     amp.stats();                          // underflow / overflow counts of this scope
//   }
//
// The policy under bf16 / fp16 (Micikevicius et al. 2018, arXiv:1710.03740; docs/methods.md,
// "bf16 and fp16"):
//   * matmul: both inputs (activations and the weights' working copies) are rounded to the
//     format, the product runs in sgemm on the rounded values, so it accumulates in fp32;
//     in backward the incoming gradient and both input gradients are rounded to the format
//     (in fp16 that is where gradients below 2^-25 flush to zero without loss scaling).
//   * tensors autograd saves for backward (SavedTensor, autograd/node.h) are stored as 16-bit
//     tensors (DType::F16 / BF16): saved-activation memory really halves. A tensor saved by
//     several nodes in one scope is stored once. Statistics that must stay exact (norm mean
//     and rstd, the dropout mask, loss-side saves) are declared SavedTensor::Format::Fp32.
//   * softmax, norms, losses, reductions and the optimizer compute in fp32 (their kernels
//     are the fp32 ones; only what they save is stored in 16-bit). Parameters stay fp32
//     (the master weights); the optimizer updates them in fp32.
// Precision::F32 (the default, no guard) changes nothing and costs one thread-local read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "tensor/tensor.h"

namespace tlm {

enum class Precision : uint8_t { F32, BF16, F16 };

// "fp32" | "bf16" | "fp16"; anything else is an error naming `key` and the allowed values.
Precision parse_precision(std::string_view name, std::string_view key = "precision");
std::string_view precision_name(Precision p);
// The storage dtype of a 16-bit precision (F16 / BF16); F32 for Precision::F32.
DType precision_dtype(Precision p);

// What runs the matmuls of a precision on this CPU: "fp32" (sgemm), "avx512_bf16" (bf16 on
// tlm's AVX-512 BF16 kernel, tensor/kernels/gemm_bf16.h) or "emulated" (sgemm on inputs
// rounded to the format: the same numbers, up to the order of the fp32 sums, and no speed-up;
// fp16 always, bf16 on a CPU without AVX-512 BF16). `tlm train` prints it and writes it to the
// run summary (precision_kernel), so a bf16 run says when it was emulated.
std::string_view precision_kernel(Precision p);
// One line for people: e.g. "bf16 emulated (this CPU has no AVX-512 BF16: sgemm on
// bf16-rounded inputs)".
std::string precision_description(Precision p);

// What the rounding in one scope did.
struct PrecisionStats {
  int64_t grad_values = 0;     // gradient entries rounded to the format in backward
  int64_t grad_nonzero = 0;    // of those, non-zero before rounding
  int64_t grad_underflow = 0;  // of those, zero after rounding: lost to underflow
  int64_t overflow = 0;        // finite values (matmul inputs or gradients) rounded to ±inf
  // grad_underflow / grad_nonzero (0 when nothing was rounded).
  double underflow_fraction() const {
    return grad_nonzero > 0 ? static_cast<double>(grad_underflow) / static_cast<double>(grad_nonzero) : 0.0;
  }
};

// Sets this thread's precision until destroyed (nests; the innermost guard wins and
// collects the statistics of the roundings made while it is the innermost).
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision p);
  ~PrecisionGuard();
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

  Precision precision() const { return precision_; }
  const PrecisionStats& stats() const { return stats_; }
  PrecisionStats& stats() { return stats_; }

  // The 16-bit copy of `x` (float32) for a SavedTensor; one copy per tensor while it lives.
  Tensor store(const Tensor& x);

 private:
  using Key = std::tuple<const void*, int64_t, Shape, Strides, uint64_t>;
  struct Stored {
    std::weak_ptr<Storage> source;    // the fp32 storage the copy was made from
    std::weak_ptr<TensorImpl> copy;   // the 16-bit copy, while some SavedTensor holds it
  };
  Precision precision_;
  PrecisionGuard* prev_;
  PrecisionStats stats_;
  std::map<Key, Stored> stored_;
};

// The precision of the innermost guard of this thread (F32 without one), and that guard.
Precision current_precision();
PrecisionGuard* current_precision_guard();

namespace autograd {
// x rounded to the format of p, as a fresh float32 tensor (x itself when p is F32 or x is not
// float32). Finite values that overflow to ±inf are counted in the current guard's stats.
Tensor round_to_precision(const Tensor& x, Precision p);
// The same for a gradient; also counts the non-zero entries that round to zero (underflow).
Tensor round_grad_to_precision(const Tensor& g, Precision p);
// A gradient this code just made and alone holds, rounded in place when its elements form one
// dense block (else as round_grad_to_precision); the same statistics.
Tensor round_fresh_grad_to_precision(Tensor g, Precision p);

// For the bf16 GEMM, which rounds its operands itself while packing them: true when x's
// elements form one dense block in memory (any order of the axes), so they can be counted in
// place; then count_bf16_rounding adds to the current guard's stats exactly what rounding x
// to bf16 would (overflow; for a gradient also values, non-zeros and underflow), writing
// nothing.
bool is_dense_block(const Tensor& x);
void count_bf16_rounding(const Tensor& x, bool is_grad);
}  // namespace autograd

}  // namespace tlm
