// Element types. fp32 is what models train in; fp64 exists so gradient checks can use a
// tight tolerance; int32 holds token ids and class labels; fp16 and bf16 are 16-bit storage
// formats (docs/methods.md, "bf16 and fp16"): tensors of them hold values (saved activations
// under a mixed precision policy, autograd/precision.h) and convert to/from float32 with
// Tensor::to, but no kernel computes in them (dispatch_floating refuses them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/error.h"
#include "tensor/half.h"

namespace tlm {

enum class DType : uint8_t { F32 = 0, F64 = 1, I32 = 2, F16 = 3, BF16 = 4 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }
// The 16-bit storage formats (not "floating" above: nothing computes or differentiates in them).
constexpr bool is_half(DType t) { return t == DType::F16 || t == DType::BF16; }

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<Fp16> { static constexpr DType value = DType::F16; };
template <> struct DTypeOf<Bf16> { static constexpr DType value = DType::BF16; };

// Runs fn(T{}) with T = float or double according to dtype; `op` names the caller in the error.
//   dispatch_floating(x.dtype(), "exp", [&](auto tag) { using T = decltype(tag); ... });
template <class Fn>
decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::F32: return fn(float{});
    case DType::F64: return fn(double{});
    default: break;
  }
  TLM_FAIL("{}: expected a floating tensor (float32 or float64), got {}", op, dtype_name(t));
}

}  // namespace tlm
