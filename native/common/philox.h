// Counter-based random numbers for frozen weights.
//
// Every frozen weight is a pure function of (seed, stream, row, column): Philox-4x32-10
// (Salmon et al., SC'11) keyed by the 64-bit seed, with counter (column, row, stream, draw).
// The float transforms below use only IEEE-754 +, -, *, / and sqrt in double precision, with
// no fused multiply-add (this header is compiled with -ffp-contract=off on the host and the
// _rn intrinsics on CUDA), so every backend and thread count produces the same bits.
#pragma once
#include <math.h>

#include <cstdint>

#include "host_device.h"

#if defined(__CUDA_ARCH__)
#define BL_DADD(a, b) __dadd_rn((a), (b))
#define BL_DMUL(a, b) __dmul_rn((a), (b))
#else
#define BL_DADD(a, b) ((a) + (b))
#define BL_DMUL(a, b) ((a) * (b))
#endif

namespace bl {

struct Philox4 {
  uint32_t v[4];
};

BL_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

// Philox-4x32 with 10 rounds.
BL_HD Philox4 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(0xD2511F53u, c0, &hi0, &lo0);
    mulhilo32(0xCD9E8D57u, c2, &hi1, &lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 out = {{c0, c1, c2, c3}};
  return out;
}

// Natural log for x in (0, 1], from +,*,/ only: x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172; 22 odd terms reach double precision.
BL_HD double det_log(double x) {
  int e = 0;
  double m = x;
  while (m < 0.70710678118654752440) {
    m = BL_DMUL(m, 2.0);
    --e;
  }
  while (m >= 1.41421356237309504880) {
    m = BL_DMUL(m, 0.5);
    ++e;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = BL_DMUL(s, s);
  double acc = 1.0 / 43.0;
  for (int k = 41; k >= 1; k -= 2) acc = BL_DADD(BL_DMUL(acc, s2), 1.0 / static_cast<double>(k));
  const double log_m = BL_DMUL(BL_DMUL(2.0, s), acc);
  return BL_DADD(BL_DMUL(static_cast<double>(e), 0.69314718055994530942), log_m);
}

// cos(2*pi*u) for u in [0, 1), by exact reflections to v in [0, 1/4] and a Taylor series.
BL_HD double det_cos_2pi(double u) {
  double sign = 1.0;
  if (u > 0.5) u = 1.0 - u;  // cos is symmetric about 1/2; exact (Sterbenz)
  if (u > 0.25) {
    u = 0.5 - u;
    sign = -1.0;
  }  // cos(pi - x) = -cos x; exact
  const double x = BL_DMUL(6.28318530717958647693, u);  // in [0, pi/2]
  const double x2 = BL_DMUL(x, x);
  // cos x = sum_k (-1)^k x^(2k) / (2k)!, k = 0..14, Horner from the top.
  double acc = 0.0;
  for (int k = 14; k >= 1; --k) {
    const double denom = static_cast<double>((2 * k) * (2 * k - 1));
    acc = BL_DMUL(BL_DADD(1.0, -acc), x2) / denom;
  }
  return BL_DMUL(sign, BL_DADD(1.0, -acc));
}

// 24-bit uniform in [0, 1), exactly representable in float.
BL_HD double u24(uint32_t x) { return static_cast<double>(x >> 8) * (1.0 / 16777216.0); }
// 53-bit uniform in (0, 1] from two words.
BL_HD double u53_open0(uint32_t a, uint32_t b) {
  const double hi = static_cast<double>(a >> 5);  // 27 bits
  const double lo = static_cast<double>(b >> 6);  // 26 bits
  return BL_DMUL(BL_DADD(BL_DADD(BL_DMUL(hi, 67108864.0), lo), 1.0), 1.0 / 9007199254740992.0);
}

// The value of element (row, col) of stream `stream` for `seed`.
//   dist 0: uniform[-a, a]; dist 1: normal(0, a^2) by Box-Muller; dist 2: zero.
BL_HD float sample_weight(uint64_t seed, uint32_t stream, uint32_t row, uint32_t col, int dist, double a) {
  if (dist == 2) return 0.0f;
  const Philox4 r = philox4x32(col, row, stream, 0u, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  if (dist == 0) {
    const double u = u24(r.v[0]);
    return static_cast<float>(BL_DMUL(a, BL_DADD(BL_DMUL(2.0, u), -1.0)));
  }
  const double u1 = u53_open0(r.v[0], r.v[1]);
  const double u2 = static_cast<double>(r.v[2]) * (1.0 / 4294967296.0);
  const double radius = sqrt(BL_DMUL(-2.0, det_log(u1)));
  return static_cast<float>(BL_DMUL(BL_DMUL(a, radius), det_cos_2pi(u2)));
}

}  // namespace bl
