// CPU kernels behind CpuBackend. These loops are also the reference the CUDA kernels are
// checked against (shapes as in backend/backend.h).
#pragma once
#include <cstdint>

#include "../../common/types.h"

namespace bl {

void cpu_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc);
void cpu_set_blas_threads(int threads);

// W[rows, cols] from the counter-based generator (compiled with -ffp-contract=off).
void cpu_fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a);

}  // namespace bl
