// Frozen matrices in a precision on the CPU backend (backend.h, FrozenMatrix; cpu_bf16.h).
#include <vector>

#include "../../common/thread_pool.h"
#include "cpu_backend.h"
#include "cpu_bf16.h"

namespace bl {

void CpuBackend::round_bf16(float* x, size_t n) {
  cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) x[i] = bf16_value(x[i]);
  });
}

size_t CpuBackend::frozen_bytes(int N, int K, Precision p) const {
  return p == Precision::Bf16 ? cpu_bf16_bytes(N, K) : (size_t)N * K * sizeof(float);
}

void CpuBackend::frozen_fill(void* W, int N, int K, Precision p, uint64_t seed, uint32_t stream, Dist dist, double a) {
  if (p != Precision::Bf16) return fill_weights(static_cast<float*>(W), N, K, seed, stream, dist, a);
  // Panel by panel (kBf16Panel rows), so no float copy of the whole matrix is ever held.
  std::vector<float> rows((size_t)kBf16Panel * K);
  const size_t panel_bytes = cpu_bf16_bytes(kBf16Panel, K);
  for (int n0 = 0; n0 < N; n0 += kBf16Panel) {
    const int nb = std::min(kBf16Panel, N - n0);
    // Generation is the slow part: rows in parallel, then the panel packs on the calling thread's pool call.
    cpu_pool().parallel_for(nb, 1, [&](size_t r0, size_t r1) {
      cpu_fill_weight_rows(rows.data() + r0 * K, n0 + (int)r0, (int)(r1 - r0), K, seed, stream, dist, a);
    });
    cpu_bf16_pack(rows.data(), nb, K, static_cast<char*>(W) + (size_t)(n0 / kBf16Panel) * panel_bytes);
  }
}

void CpuBackend::frozen_matmul(int M, float alpha, const float* X, int ldx, const FrozenMatrix& W, float beta, float* Y,
                               int ldy) {
  if (W.precision != Precision::Bf16) return Backend::frozen_matmul(M, alpha, X, ldx, W, beta, Y, ldy);
  cpu_bf16_matmul(M, W.rows, W.cols, alpha, X, ldx, W.data, beta, Y, ldy);
}

void CpuBackend::frozen_matmul_back(int M, float alpha, const float* dY, int ldy, const FrozenMatrix& W, float beta,
                                    float* dX, int ldx) {
  if (W.precision != Precision::Bf16) return Backend::frozen_matmul_back(M, alpha, dY, ldy, W, beta, dX, ldx);
  cpu_bf16_matmul_back(M, W.rows, W.cols, alpha, dY, ldy, W.data, beta, dX, ldx);
}

void CpuBackend::frozen_read(const FrozenMatrix& W, float* out) {
  if (W.precision != Precision::Bf16) return Backend::frozen_read(W, out);
  cpu_bf16_unpack(W.data, W.rows, W.cols, out);
}

}  // namespace bl
