// bf16 frozen matrices on the CPU: packing, the AVX512-BF16 kernel and the float fallback (cpu_bf16.h).
#include "cpu_bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../common/bf16.h"
#include "../../common/error.h"
#include "../../common/thread_pool.h"
#include "cpu_kernels.h"

namespace bl {

namespace {

constexpr int NR = kBf16Panel;  // outputs per panel = per register tile (two 16-lane registers)
constexpr int MR = 12;          // input rows per register tile: 24 accumulators of 32
constexpr int KB = 128;         // input pairs per K block: a panel's block (16 KiB) stays in L1
constexpr int MC = 32 * MR;     // at most this many input rows packed at a time (~MC * Kp * 4 bytes, in L2)

// Rows per chunk: M cut into equal chunks of at most MC rows (a multiple of MR), so a batch of
// 256 is one chunk and W streams once per product, never once more for a short remainder.
int chunk_rows(int M) {
  const int chunks = (M + MC - 1) / MC;
  return ((M + chunks - 1) / chunks + MR - 1) / MR * MR;
}

int pairs(int K) { return (K + 1) / 2; }
int panels(int N) { return (N + NR - 1) / NR; }

inline uint32_t pair_bits(float lo, float hi) {
  return static_cast<uint32_t>(bf16_round(lo)) | static_cast<uint32_t>(bf16_round(hi)) << 16;
}

// ---------------------------------------------------------------- kernel choice
std::atomic<int> g_mode{-1};  // -1 not read yet, 0 auto, 1 fallback

int mode() {
  int m = g_mode.load(std::memory_order_relaxed);
  if (m < 0) {
    const char* env = std::getenv("BIASLEARN_BF16_KERNEL");
    m = env && std::string(env) == "fallback" ? 1 : 0;
    g_mode.store(m, std::memory_order_relaxed);
  }
  return m;
}

bool use_avx512() { return mode() == 0 && cpu_bf16_hardware(); }

// ---------------------------------------------------------------- the AVX512-BF16 kernel
#define BL_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// Y[mr, nr] tile (row stride ldy) of the product of kc pairs: a [kc][MR] (bf16 pairs of X),
// b [kc][NR] (a panel's pairs). first: Y = alpha acc + beta Y; else Y += alpha acc.
BL_TARGET_BF16 void tile_avx512(int kc, const uint32_t* a, const uint32_t* b, float* y, int ldy, int mr, int nr,
                                bool first, float alpha, float beta) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
    a += MR;
    b += NR;
  }
  const __mmask16 m0 = nr >= 16 ? 0xffff : static_cast<__mmask16>((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : static_cast<__mmask16>((1u << (nr - 16)) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const bool keep = !first || beta != 0.0f;
  const __m512 scale = first ? vb : _mm512_set1_ps(1.0f);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    float* yr = y + (size_t)i * ldy;
    __m512 v0 = _mm512_mul_ps(va, acc[i][0]), v1 = _mm512_mul_ps(va, acc[i][1]);
    if (keep) {
      v0 = _mm512_add_ps(v0, _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(m0, yr)));
      v1 = _mm512_add_ps(v1, _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(m1, yr + 16)));
    }
    _mm512_mask_storeu_ps(yr, m0, v0);
    _mm512_mask_storeu_ps(yr + 16, m1, v1);
  }
}

// apack [ceil(mc / MR)][Kp][MR]: bf16 pairs of rows r0 .. r0 + mc of X, zero-padded.
void pack_rows(const float* X, int ldx, int r0, int mc, int K, uint32_t* apack) {
  const int Kp = pairs(K), mp = (mc + MR - 1) / MR;
  cpu_pool().parallel_for(mp, 1, [&](size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; ++p) {
      uint32_t* dst = apack + p * (size_t)Kp * MR;
      for (int i = 0; i < MR; ++i) {
        const int r = (int)p * MR + i;
        if (r >= mc) {
          for (int k = 0; k < Kp; ++k) dst[(size_t)k * MR + i] = 0;
          continue;
        }
        const float* x = X + (size_t)(r0 + r) * ldx;
        for (int k = 0; k < Kp; ++k) {
          const float hi = 2 * k + 1 < K ? x[2 * k + 1] : 0.0f;
          dst[(size_t)k * MR + i] = pair_bits(x[2 * k], hi);
        }
      }
    }
  });
}

void matmul_avx512(int M, int N, int K, float alpha, const float* X, int ldx, const uint32_t* W, float beta, float* Y,
                   int ldy) {
  const int Kp = pairs(K), np = panels(N);
  const int rows = chunk_rows(M);
  std::vector<uint32_t> apack((size_t)(rows / MR) * Kp * MR);
  for (int r0 = 0; r0 < M; r0 += rows) {
    const int mc = std::min(rows, M - r0), mp = (mc + MR - 1) / MR;
    pack_rows(X, ldx, r0, mc, K, apack.data());
    cpu_pool().parallel_for(np, 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p) {
        const int nr = std::min(NR, N - (int)p * NR);
        for (int k0 = 0; k0 < Kp; k0 += KB) {
          const int kc = std::min(KB, Kp - k0);
          const uint32_t* b = W + (p * Kp + k0) * NR;
          for (int i = 0; i < mp; ++i)
            tile_avx512(kc, apack.data() + ((size_t)i * Kp + k0) * MR, b, Y + (size_t)(r0 + i * MR) * ldy + p * NR, ldy,
                        std::min(MR, mc - i * MR), nr, k0 == 0, alpha, beta);
        }
      }
    });
  }
}

// ---------------------------------------------------------------- the float fallback
// out[nb, K] = rows n0 .. n0 + nb of the packed W (n0 a multiple of NR).
void unpack_rows(const uint32_t* W, int K, int n0, int nb, float* out) {
  const int Kp = pairs(K);
  cpu_pool().parallel_for(nb, 16, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const int n = n0 + (int)i;
      const uint32_t* src = W + (size_t)(n / NR) * Kp * NR + n % NR;
      float* o = out + i * K;
      for (int k = 0; k < Kp; ++k) {
        const uint32_t w = src[(size_t)k * NR];
        o[2 * k] = bf16_widen(static_cast<uint16_t>(w & 0xffffu));
        if (2 * k + 1 < K) o[2 * k + 1] = bf16_widen(static_cast<uint16_t>(w >> 16));
      }
    }
  });
}

// Rows of W widened at a time: a multiple of NR, about 4 MiB of floats.
int widen_rows(int N, int K) {
  const int rows = std::max(NR, (1 << 20) / std::max(K, 1) / NR * NR);
  return std::min(rows, panels(N) * NR);
}

// xr[M, K] = bf16_value(X) (row stride ldx).
std::vector<float> rounded(const float* X, int M, int K, int ldx) {
  std::vector<float> xr((size_t)M * K);
  cpu_pool().parallel_for(M, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (int k = 0; k < K; ++k) xr[r * K + k] = bf16_value(X[r * ldx + k]);
  });
  return xr;
}

void matmul_fallback(int M, int N, int K, float alpha, const float* X, int ldx, const uint32_t* W, float beta, float* Y,
                     int ldy) {
  const std::vector<float> xr = rounded(X, M, K, ldx);
  const int rows = widen_rows(N, K);
  std::vector<float> wb((size_t)rows * K);
  for (int n0 = 0; n0 < N; n0 += rows) {
    const int nb = std::min(rows, N - n0);
    unpack_rows(W, K, n0, nb, wb.data());
    cpu_gemm(false, true, M, nb, K, alpha, xr.data(), K, wb.data(), K, beta, Y + n0, ldy);
  }
}

// ---------------------------------------------------------------- the product back, few rows
constexpr int kBackRows = 8;  // dX = dY W straight from the panels for M <= kBackRows (RNN steps)

// dX[M, K] = alpha dyr[M, Np] W + beta dX for M <= kBackRows, dyr the rounded dY zero-padded to
// Np = panels * 32 columns. For each input pair kp, every panel's word j holds (W[n, 2kp],
// W[n, 2kp + 1]) of output n = 32 p + j: widened in registers (a shift and a mask) and multiplied
// by dY[m, n] lane by lane; lanes are summed at the end. Threads split the pairs.
// Pairs k0 .. k1 (a lambda does not inherit a target attribute, so the pool's lambda calls this).
__attribute__((target("avx512f"))) void back_rows_pairs(size_t k0, size_t k1, int M, int N, int K, float alpha,
                                                        const float* dyr, const uint32_t* W, float beta, float* dX,
                                                        int ldx) {
  const int Kp = pairs(K), np = panels(N), Np = np * NR;
  {
    const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
    for (size_t kp = k0; kp < k1; ++kp) {
      __m512 even[kBackRows], odd[kBackRows];
      for (int m = 0; m < M; ++m) even[m] = odd[m] = _mm512_setzero_ps();
      for (int p = 0; p < np; ++p) {
        const uint32_t* w = W + ((size_t)p * Kp + kp) * NR;
        const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 16);
        const __m512 lo0 = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, w0, 16));
        const __m512 lo1 = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, w1, 16));
        const __m512 hi0 = _mm512_castsi512_ps(_mm512_and_si512(w0, hi_mask));
        const __m512 hi1 = _mm512_castsi512_ps(_mm512_and_si512(w1, hi_mask));
        for (int m = 0; m < M; ++m) {
          const float* d = dyr + (size_t)m * Np + p * NR;
          const __m512 d0 = _mm512_loadu_ps(d), d1 = _mm512_loadu_ps(d + 16);
          even[m] = _mm512_fmadd_ps(d1, lo1, _mm512_fmadd_ps(d0, lo0, even[m]));
          odd[m] = _mm512_fmadd_ps(d1, hi1, _mm512_fmadd_ps(d0, hi0, odd[m]));
        }
      }
      for (int m = 0; m < M; ++m) {
        alignas(64) float e[16], o[16];
        _mm512_store_ps(e, even[m]);
        _mm512_store_ps(o, odd[m]);
        float se = 0.0f, so = 0.0f;
        for (int j = 0; j < 16; ++j) {
          se += e[j];
          so += o[j];
        }
        float* x = dX + (size_t)m * ldx + 2 * kp;
        x[0] = alpha * se + (beta == 0.0f ? 0.0f : beta * x[0]);
        if (2 * (int)kp + 1 < K) x[1] = alpha * so + (beta == 0.0f ? 0.0f : beta * x[1]);
      }
    }
  }
}

void back_rows_avx512(int M, int N, int K, float alpha, const float* dyr, const uint32_t* W, float beta, float* dX,
                      int ldx) {
  cpu_pool().parallel_for(
      pairs(K), 8, [&](size_t k0, size_t k1) { back_rows_pairs(k0, k1, M, N, K, alpha, dyr, W, beta, dX, ldx); });
}

// ---------------------------------------------------------------- peak microbenchmarks
constexpr int kChains = 24;  // independent accumulators: enough to cover the latency of either unit

BL_TARGET_BF16 double peak_bf16(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_ps();
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33803380);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  return (double)iters * kChains * 16 * 4;  // 16 lanes x 2 pairs x 2 flops
}

__attribute__((target("avx512f"))) double peak_fp32(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_ps();
  const __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(a, b, acc[i]);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  return (double)iters * kChains * 16 * 2;
}

}  // namespace

double cpu_bf16_peak_flops(long iters) { return cpu_bf16_hardware() ? peak_bf16(iters) : 0.0; }
double cpu_fp32_peak_flops(long iters) { return __builtin_cpu_supports("avx512f") ? peak_fp32(iters) : 0.0; }

// ---------------------------------------------------------------- public
bool cpu_bf16_hardware() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bf16");
  return has;
}

std::string cpu_bf16_kernel() { return use_avx512() ? "avx512bf16" : "fallback"; }

void cpu_bf16_set_kernel(const std::string& which) {
  if (which == "auto")
    g_mode.store(0);
  else if (which == "fallback")
    g_mode.store(1);
  else
    fail("E_INVALID_ARG", "expected 'auto' or 'fallback' for the bf16 kernel, got '" + which + "'");
}

size_t cpu_bf16_bytes(int N, int K) { return (size_t)panels(N) * pairs(K) * NR * sizeof(uint32_t); }

void cpu_bf16_pack(const float* W, int N, int K, void* dst) {
  const int Kp = pairs(K);
  uint32_t* out = static_cast<uint32_t*>(dst);
  cpu_pool().parallel_for(panels(N), 1, [&](size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; ++p)
      for (int k = 0; k < Kp; ++k)
        for (int j = 0; j < NR; ++j) {
          const int n = (int)p * NR + j;
          const float lo = n < N ? W[(size_t)n * K + 2 * k] : 0.0f;
          const float hi = n < N && 2 * k + 1 < K ? W[(size_t)n * K + 2 * k + 1] : 0.0f;
          out[(p * Kp + k) * NR + j] = pair_bits(lo, hi);
        }
  });
}

void cpu_bf16_unpack(const void* packed, int N, int K, float* out) {
  unpack_rows(static_cast<const uint32_t*>(packed), K, 0, N, out);
}

void cpu_bf16_matmul(int M, int N, int K, float alpha, const float* X, int ldx, const void* W, float beta, float* Y,
                     int ldy) {
  if (M <= 0 || N <= 0) return;
  require(K > 0, "E_SHAPE", "expected a frozen matrix with at least one column");
  const uint32_t* w = static_cast<const uint32_t*>(W);
  if (use_avx512())
    matmul_avx512(M, N, K, alpha, X, ldx, w, beta, Y, ldy);
  else
    matmul_fallback(M, N, K, alpha, X, ldx, w, beta, Y, ldy);
}

void cpu_bf16_matmul_back(int M, int N, int K, float alpha, const float* dY, int ldy, const void* W, float beta,
                          float* dX, int ldx) {
  if (M <= 0 || K <= 0) return;
  require(N > 0, "E_SHAPE", "expected a frozen matrix with at least one row");
  const uint32_t* w = static_cast<const uint32_t*>(W);
  if (M <= kBackRows && mode() == 0 && __builtin_cpu_supports("avx512f")) {
    const int Np = panels(N) * NR;
    std::vector<float> dyr((size_t)M * Np, 0.0f);
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) dyr[(size_t)m * Np + n] = bf16_value(dY[(size_t)m * ldy + n]);
    back_rows_avx512(M, N, K, alpha, dyr.data(), w, beta, dX, ldx);
    return;
  }
  const std::vector<float> dyr = rounded(dY, M, N, ldy);
  const int rows = widen_rows(N, K);
  std::vector<float> wb((size_t)rows * K);
  for (int n0 = 0; n0 < N; n0 += rows) {
    const int nb = std::min(rows, N - n0);
    unpack_rows(w, K, n0, nb, wb.data());
    cpu_gemm(false, false, M, K, nb, alpha, dyr.data() + n0, N, wb.data(), K, n0 == 0 ? beta : 1.0f, dX, ldx);
  }
}

}  // namespace bl
