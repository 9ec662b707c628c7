// The CPU backend's energy-network ops (backend.h, "energy networks"; native/contrastive). The
// spec of cuda/cuda_energy.cu. Rows are split over the pool; the max of delta is taken per chunk
// and then over chunks (a max does not depend on the order).
#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <variant>

#include "../../common/thread_pool.h"
#include "cpu_backend.h"

namespace bl {

// Columns a row's feedback F Wf is formed over at a time (a stack buffer that stays in L1).
constexpr int kFbChunk = 256;

// Rows [b0, b1) of one relaxation step; the optional inputs are template flags so that the common
// step (no second drive, no nudge, no residual) is one branch-free, vectorisable loop. With kFb,
// a row's feedback fb[h] = sum_o F[b,o] Wf[o,h] (F [B,Of], Wf [Of,H], o ascending) is formed
// kFbChunk columns at a time as Of axpys over contiguous rows of Wf, then added like D2.
template <class F_, bool kD2, bool kFb, bool kNudge, bool kDelta>
static float energy_rows(size_t b0, size_t b1, float* Z, float* U, const float* D, const float* D2, const float* F,
                         const float* Wf, int Of, const float* bias, const float* T, int H, float keep, float eps,
                         float beta) {
  float local = 0.0f;
  float fb[kFbChunk];
  for (size_t b = b0; b < b1; ++b) {
    const size_t row = b * H;
    float* z_row = Z + row;
    float* u_row = U + row;
    const float* d_row = D + row;
    for (int h0 = 0; h0 < H; h0 += kFbChunk) {
      const int n = std::min(kFbChunk, H - h0);
      if constexpr (kFb) {
        const float* f_row = F + b * Of;
        for (int i = 0; i < n; ++i) fb[i] = 0.0f;
        for (int o = 0; o < Of; ++o) {
          const float f = f_row[o];
          const float* w = Wf + (size_t)o * H + h0;
          for (int i = 0; i < n; ++i) fb[i] += f * w[i];
        }
      }
      for (int i = 0; i < n; ++i) {
        const int h = h0 + i;
        float d = d_row[h] + bias[h];
        if constexpr (kD2) d += D2[row + h];
        if constexpr (kFb) d += fb[i];
        if constexpr (kNudge) d -= beta * (u_row[h] - T[row + h]);
        const float z = keep * z_row[h] + eps * d;
        const float u = F_::forward(z);
        if constexpr (kDelta) local = std::max(local, std::fabs(u - u_row[h]));
        z_row[h] = z;
        u_row[h] = u;
      }
    }
  }
  return local;
}

void CpuBackend::energy_step(float* Z, float* U, const float* D, const float* D2, const float* F, const float* Wf,
                             int Of, const float* bias, const float* T, int B, int H, Act act, float eps, float beta,
                             float* delta) {
  std::mutex mu;
  float dmax = 0.0f;
  const float keep = 1.0f - eps;
  using Flag = std::variant<std::false_type, std::true_type>;
  const auto flag = [](bool v) -> Flag {
    if (v) return std::true_type{};
    return std::false_type{};
  };
  dispatch_act(act, [&](auto tag) {
    using Fn = ActFn<decltype(tag)::value>;
    std::visit(
        [&](auto has_d2, auto has_fb, auto nudge, auto want_delta) {
          cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
            const float local = energy_rows<Fn, has_d2.value, has_fb.value, nudge.value, want_delta.value>(
                b0, b1, Z, U, D, D2, F, Wf, Of, bias, T, H, keep, eps, beta);
            if constexpr (want_delta.value) {
              std::lock_guard<std::mutex> lock(mu);
              dmax = std::max(dmax, local);
            }
          });
        },
        flag(D2 != nullptr), flag(F != nullptr && Of > 0), flag(T != nullptr), flag(delta != nullptr));
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

// C[B,O] = A[B,K] W[O,K]^T. Per row b and output o: kLanes partial sums over k = lane (mod
// kLanes) (a vectorisable loop without reassociation), folded in lane order, then the tail k.
// The row of A stays in L1 across the O dot products; W [O,K] in L2. Rows split over the pool.
void CpuBackend::narrow_product(const float* A, const float* W, int B, int K, int O, float* C) {
  constexpr int kLanes = 16;
  const int K16 = K - K % kLanes;
  cpu_pool().parallel_for(B, row_grain(K), [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) {
      const float* a = A + b * K;
      for (int o = 0; o < O; ++o) {
        const float* w = W + (size_t)o * K;
        float acc[kLanes] = {};
        for (int k = 0; k < K16; k += kLanes)
          for (int i = 0; i < kLanes; ++i) acc[i] += a[k + i] * w[k + i];
        float s = 0.0f;
        for (int i = 0; i < kLanes; ++i) s += acc[i];
        for (int k = K16; k < K; ++k) s += a[k] * w[k];
        C[b * O + o] = s;
      }
    }
  });
}

}  // namespace bl
