// bfloat16 and the precision of frozen weights. Shared by the CPU and CUDA backends, so a
// frozen weight rounds to the same bits everywhere.
//
// bf16 is the upper half of an IEEE float32: 1 sign, 8 exponent and 7 mantissa bits. A float
// rounds to it by round-to-nearest-even on the dropped 16 bits; infinities stay, NaN stays NaN
// (quiet, sign kept), subnormals round like any other value (same exponent range), and a value
// past the largest bf16 rounds to infinity. A bf16 widens to float exactly (append 16 zero bits).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "host_device.h"

namespace bl {

// How a model keeps and multiplies its frozen weight matrices (`weightPrecision`):
//   Fp32  float32 storage, float32 products (every release before this one).
//   Bf16  bf16 storage (RNE of the float32 draw), bf16 x bf16 products with float32 accumulation.
//   Tf32  float32 storage; on CUDA the frozen products may use TF32 tensor cores (opt-in, `tf32: true`);
//         on the CPU exactly Fp32.
enum class Precision : int32_t { Fp32 = 0, Bf16 = 1, Tf32 = 2 };

// "fp32", "bf16", "tf32"; anything else throws E_INVALID_ARG.
Precision parse_precision(const std::string& s);
const char* precision_name(Precision p);

BL_HD uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

BL_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// float -> bf16 bits, round to nearest, ties to even.
BL_HD uint16_t bf16_round(float x) {
  const uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN: quiet
  const uint32_t lsb = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16);  // carries into the exponent: up to inf
}

BL_HD float bf16_widen(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

// x rounded to the nearest bf16, as a float.
BL_HD float bf16_value(float x) { return bf16_widen(bf16_round(x)); }

}  // namespace bl
