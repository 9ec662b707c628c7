// The CPU backend's energy-network ops (backend.h, "energy networks"; native/contrastive). The
// spec of cuda/cuda_energy.cu. Rows are split over the pool; the max of delta is taken per chunk
// and then over chunks (a max does not depend on the order).
#include <cmath>
#include <mutex>

#include "../../common/thread_pool.h"
#include "cpu_backend.h"

namespace bl {

void CpuBackend::energy_step(float* Z, float* U, const float* D, const float* D2, const float* bias, const float* T,
                             int B, int H, Act act, float eps, float beta, float* delta) {
  std::mutex mu;
  float dmax = 0.0f;
  const float keep = 1.0f - eps;
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      float local = 0.0f;
      for (size_t b = b0; b < b1; ++b) {
        const size_t row = b * H;
        for (int h = 0; h < H; ++h) {
          const size_t i = row + h;
          float d = D[i] + bias[h];
          if (D2) d += D2[i];
          if (T) d -= beta * (U[i] - T[i]);
          const float z = keep * Z[i] + eps * d;
          const float u = F::forward(z);
          local = std::fmax(local, std::fabs(u - U[i]));
          Z[i] = z;
          U[i] = u;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      dmax = std::fmax(dmax, local);
    });
  });
  if (delta) *delta = dmax;
}

void CpuBackend::adjoint_step(float* G, const float* U, const float* D, const float* C, int B, int H, Act act,
                              float eps, float* delta) {
  std::mutex mu;
  float dmax = 0.0f;
  const float keep = 1.0f - eps;
  const size_t n = (size_t)B * H;
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
      float local = 0.0f;
      for (size_t i = i0; i < i1; ++i) {
        const float d = C ? D[i] + C[i] : D[i];
        const float g = keep * G[i] + eps * F::grad(U[i]) * d;
        local = std::fmax(local, std::fabs(g - G[i]));
        G[i] = g;
      }
      std::lock_guard<std::mutex> lock(mu);
      dmax = std::fmax(dmax, local);
    });
  });
  if (delta) *delta = dmax;
}

}  // namespace bl
