// CPU kernels behind CpuBackend. These loops are also the reference the CUDA kernels are
// checked against (shapes as in backend/backend.h).
#pragma once
#include <cmath>
#include <cstdint>

#include "../../common/types.h"

namespace bl {

void cpu_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc);
void cpu_set_blas_threads(int threads);

// W[rows, cols] from the counter-based generator (compiled with -ffp-contract=off).
void cpu_fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a);
// Rows r0 .. r0 + rows of the same matrix into W[rows, cols], on the calling thread.
void cpu_fill_weight_rows(float* W, int r0, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a);

// One row z[0..O) (O >= 1) of a softmax cross-entropy: arg = the first index of the maximum mx (a
// strict `>` scan: the lowest index among ties, the rule the CUDA kernels follow), sum = sum_o
// exp(z[o] - mx) in double, o in order.
struct SoftmaxRow {
  int arg;
  float mx;
  double sum;
};
inline SoftmaxRow softmax_row(const float* z, int O) {
  int arg = 0;
  float mx = z[0];
  for (int o = 1; o < O; ++o)
    if (z[o] > mx) {
      mx = z[o];
      arg = o;
    }
  double sum = 0.0;
  for (int o = 0; o < O; ++o) sum += std::exp(static_cast<double>(z[o]) - mx);
  return {arg, mx, sum};
}

}  // namespace bl
