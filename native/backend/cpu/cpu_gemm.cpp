// CPU matrix product: row-major C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C.
// With a system CBLAS (OpenBLAS, found by CMake: BL_HAVE_CBLAS) this calls cblas_sgemm;
// otherwise a built-in packed, blocked kernel (Goto-style: B panels of NR columns, A panels of
// MR rows, an MR x NR register tile) vectorised with GCC/Clang vector extensions, threaded over
// blocks of C. Each C element is summed by one thread in fixed k order (deterministic).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../common/thread_pool.h"
#include "cpu_kernels.h"

#ifdef BL_HAVE_CBLAS
#include <cblas.h>
#endif

namespace bl {

#ifdef BL_HAVE_CBLAS
std::string cpu_gemm_impl() { return "cblas"; }

void cpu_set_blas_threads(int threads) {
#ifdef BL_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(threads);
#else
  (void)threads;
#endif
}

void cpu_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
              float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
              ldb, beta, C, ldc);
}
#else
std::string cpu_gemm_impl() { return "builtin"; }
void cpu_set_blas_threads(int) {}

namespace {

constexpr int MR = 6, NR = 16, KC = 256, MC = 96, NC = 1024;
typedef float v8 __attribute__((vector_size(32)));

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// a: packed [kc][MR], b: packed [kc][NR]; tile[MR][NR] = sum_k a[k][i] b[k][j]
void micro_kernel(int kc, const float* a, const float* b, float* tile) {
  v8 c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {},
     c51 = {};
  for (int k = 0; k < kc; ++k) {
    const v8 b0 = load8(b), b1 = load8(b + 8);
    v8 ai;
    ai = v8{} + a[0];
    c00 += ai * b0;
    c01 += ai * b1;
    ai = v8{} + a[1];
    c10 += ai * b0;
    c11 += ai * b1;
    ai = v8{} + a[2];
    c20 += ai * b0;
    c21 += ai * b1;
    ai = v8{} + a[3];
    c30 += ai * b0;
    c31 += ai * b1;
    ai = v8{} + a[4];
    c40 += ai * b0;
    c41 += ai * b1;
    ai = v8{} + a[5];
    c50 += ai * b0;
    c51 += ai * b1;
    a += MR;
    b += NR;
  }
  store8(tile + 0 * NR, c00);
  store8(tile + 0 * NR + 8, c01);
  store8(tile + 1 * NR, c10);
  store8(tile + 1 * NR + 8, c11);
  store8(tile + 2 * NR, c20);
  store8(tile + 2 * NR + 8, c21);
  store8(tile + 3 * NR, c30);
  store8(tile + 3 * NR + 8, c31);
  store8(tile + 4 * NR, c40);
  store8(tile + 4 * NR + 8, c41);
  store8(tile + 5 * NR, c50);
  store8(tile + 5 * NR + 8, c51);
}

// op(X)[r, c] for row-major X with leading dimension ld.
inline float at(const float* X, int ld, bool trans, int r, int c) {
  return trans ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c];
}

}  // namespace

void cpu_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
              float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  ThreadPool& pool = cpu_pool();
  // C *= beta (beta == 0 overwrites, so NaN garbage in C never leaks).
  pool.parallel_for(M, 64, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      float* c = C + r * ldc;
      if (beta == 0.0f)
        std::fill(c, c + N, 0.0f);
      else if (beta != 1.0f)
        for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  });
  if (K == 0 || alpha == 0.0f) return;
  std::vector<float> bpack((size_t)KC * NC);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int npanels = (nc + NR - 1) / NR;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      // pack op(B)[pc:pc+kc, jc:jc+nc] as npanels panels of [kc][NR], zero padded
      pool.parallel_for(npanels, 4, [&](size_t p0, size_t p1) {
        for (size_t p = p0; p < p1; ++p) {
          float* dst = bpack.data() + p * (size_t)kc * NR;
          const int j0 = jc + (int)p * NR, jn = std::min(NR, jc + nc - j0);
          for (int k = 0; k < kc; ++k)
            for (int j = 0; j < NR; ++j) dst[k * NR + j] = j < jn ? at(B, ldb, tb, pc + k, j0 + j) : 0.0f;
        }
      });
      const int mblocks = (M + MC - 1) / MC;
      pool.parallel_for(mblocks, 1, [&](size_t b0, size_t b1) {
        std::vector<float> apack((size_t)MC * KC);
        alignas(32) float tile[MR * NR];
        for (size_t mb = b0; mb < b1; ++mb) {
          const int ic = (int)mb * MC, mc = std::min(MC, M - ic);
          const int mpanels = (mc + MR - 1) / MR;
          for (int p = 0; p < mpanels; ++p) {
            float* dst = apack.data() + (size_t)p * kc * MR;
            const int i0 = ic + p * MR, in = std::min(MR, ic + mc - i0);
            for (int k = 0; k < kc; ++k)
              for (int i = 0; i < MR; ++i) dst[k * MR + i] = i < in ? at(A, lda, ta, i0 + i, pc + k) : 0.0f;
          }
          for (int jp = 0; jp < npanels; ++jp) {
            const int j0 = jc + jp * NR, jn = std::min(NR, jc + nc - j0);
            const float* bp = bpack.data() + (size_t)jp * kc * NR;
            for (int p = 0; p < mpanels; ++p) {
              const int i0 = ic + p * MR, in = std::min(MR, ic + mc - i0);
              micro_kernel(kc, apack.data() + (size_t)p * kc * MR, bp, tile);
              for (int i = 0; i < in; ++i) {
                float* c = C + (size_t)(i0 + i) * ldc + j0;
                const float* t = tile + i * NR;
                for (int j = 0; j < jn; ++j) c[j] += alpha * t[j];
              }
            }
          }
        }
      });
    }
  }
}
#endif

}  // namespace bl
