// fp16 (IEEE binary16) and bf16 (bfloat16) conversions, bit-exact.
//
//   uint16_t h = float_to_fp16(x);   float y = fp16_to_float(h);
//   uint16_t b = float_to_bf16(x);   float z = bf16_to_float(b);
//   floats_to_fp16(src, dst, n);     // uses F16C when the CPU has it
//
// Rounding is to nearest, ties to even; overflow gives ±inf; fp16 subnormals are exact;
// NaNs stay NaN (quieted, top payload bits kept, as the hardware does). The formulas are in
// docs/methods.md, "bf16 and fp16". The array versions pick a hardware instruction at run time
// (F16C for fp16, AVX-512 BF16 for bf16) and fall back to the portable code; the tests check
// the two bit for bit. One documented difference: VCVTNEPS2BF16 flushes fp32 subnormal
// inputs to zero, while the portable bf16 path rounds them exactly (bf16 has subnormals);
// the array path therefore uses the hardware only when a block holds no subnormal input.
#pragma once

#include <cstdint>
#include <cstring>

namespace tlm {

// One fp16 / bf16 element as stored in a Tensor of DType::F16 / DType::BF16 (tensor.data<Fp16>()).
struct Fp16 {
  uint16_t bits;
};
struct Bf16 {
  uint16_t bits;
};

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// bf16: the top 16 bits of an fp32, rounded to nearest even.
inline uint16_t float_to_bf16(float x) {
  uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // carries into the exponent: ≥ max + ½ulp becomes inf
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

// fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
uint16_t float_to_fp16(float x);
float fp16_to_float(uint16_t h);

// Array conversions (hardware when available). n may be anything; no alignment needed.
void floats_to_fp16(const float* src, uint16_t* dst, int64_t n);
void fp16_to_floats(const uint16_t* src, float* dst, int64_t n);
void floats_to_bf16(const float* src, uint16_t* dst, int64_t n);
void bf16_to_floats(const uint16_t* src, float* dst, int64_t n);
// Round-trips through the format in place: x <- float(fp16(x)) (the "emulation" of storing).
void round_to_fp16_(float* x, int64_t n);
void round_to_bf16_(float* x, int64_t n);

bool cpu_has_f16c();
bool cpu_has_avx512_bf16();

// The portable versions, exposed so tests can compare them with the hardware.
namespace detail {
void floats_to_fp16_portable(const float* src, uint16_t* dst, int64_t n);
void fp16_to_floats_portable(const uint16_t* src, float* dst, int64_t n);
void floats_to_bf16_portable(const float* src, uint16_t* dst, int64_t n);
// Hardware versions; only call when the cpu_has_* check says so.
void floats_to_fp16_f16c(const float* src, uint16_t* dst, int64_t n);
void fp16_to_floats_f16c(const uint16_t* src, float* dst, int64_t n);
void floats_to_bf16_avx512(const float* src, uint16_t* dst, int64_t n);  // flushes subnormals
}  // namespace detail

}  // namespace tlm
