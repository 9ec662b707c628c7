// The CPU backend's recurrent-network ops (backend.h, "recurrent networks"; native/rnn). The spec
// of cuda/cuda_rnn.cu. Time-major activations [T, B, D].
#include <cmath>
#include <vector>

#include "../../common/thread_pool.h"
#include "cpu_backend.h"

namespace bl {

void CpuBackend::rnn_step(float* Z, const float* bias, const float* Rp, float* Rn, int B, int H, Act act, float decay,
                          float gain) {
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) {
        float* z = Z + b * H;
        const float* rp = Rp + b * H;
        float* rn = Rn + b * H;
        for (int h = 0; h < H; ++h) {
          const float a = F::forward(z[h] + bias[h]);
          z[h] = a;
          rn[h] = decay * rp[h] + gain * a;
        }
      }
    });
  });
}

void CpuBackend::rnn_step_backward(float* Dr, const float* DYA, const float* Phi, float* dZ, int B, int H, Act act,
                                   float gain) {
  const size_t n = (size_t)B * H;
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1; ++i) {
        const float d = DYA ? Dr[i] + DYA[i] : Dr[i];
        Dr[i] = d;
        dZ[i] = gain * d * F::grad(Phi[i]);
      }
    });
  });
}

void CpuBackend::seq_mse(const float* Y, const float* Yprev, const float* Tg, const float* w, const float* v, int Tw,
                         int B, int O, float scale, float* dY, float* stats) {
  std::vector<double> loss(B, 0.0), sq(B, 0.0);
  const double invO = 1.0 / O;
  cpu_pool().parallel_for(B, std::max<size_t>(1, 4096 / std::max(1, Tw * O)), [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) {
      double se = 0.0, ve = 0.0;
      for (int t = 0; t < Tw; ++t) {
        const size_t row = (size_t)t * B + b;
        const double wt = w[row], vt = v[row];
        const double vn = t + 1 < Tw ? static_cast<double>(v[row + B]) : 0.0;
        const float* y = Y + row * O;
        const float* prev = t > 0 ? Y + (row - B) * O : (Yprev ? Yprev + b * O : nullptr);
        const float* next = t + 1 < Tw ? Y + (row + B) * O : nullptr;
        for (int o = 0; o < O; ++o) {
          const double e = static_cast<double>(y[o]) - Tg[row * O + o];
          se += wt * e * e;
          double g = 2.0 * wt * e;
          if (prev) {
            const double dv = static_cast<double>(y[o]) - prev[o];
            ve += vt * dv * dv;
            g += 2.0 * vt * dv;
          }
          if (next) g -= 2.0 * vn * (static_cast<double>(next[o]) - y[o]);
          if (dY) dY[row * O + o] = static_cast<float>(scale * g * invO);
        }
      }
      loss[b] = (se + ve) * invO;
      sq[b] = se * invO;
    }
  });
  double l = 0.0, s = 0.0;
  for (int b = 0; b < B; ++b) {
    l += loss[b];
    s += sq[b];
  }
  stats[0] = static_cast<float>(l);
  stats[1] = static_cast<float>(s);
}

void CpuBackend::outer_trace(float* P, const float* D, const float* X, int B, int H, int K, float decay, float gain,
                             const float* jd, int jd_stride) {
  cpu_pool().parallel_for((size_t)B * H, row_grain(K), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const size_t b = r / H;
      const float s = gain * D[r];
      const float d = jd ? decay + s * jd[(r % H) * jd_stride] : decay;
      const float* x = X + b * K;
      float* p = P + r * K;
      for (int k = 0; k < K; ++k) p[k] = d * p[k] + s * x[k];
    }
  });
}

void CpuBackend::trace_grad(const float* P, const float* E, int B, int H, int K, float beta, float* G) {
  cpu_pool().parallel_for(H, std::max<size_t>(1, row_grain(K) / std::max(1, B)), [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      float* g = G + h * K;
      for (int k = 0; k < K; ++k) g[k] = beta == 0.0f ? 0.0f : beta * g[k];
      for (int b = 0; b < B; ++b) {
        const float e = E[(size_t)b * H + h];
        const float* p = P + ((size_t)b * H + h) * K;
        for (int k = 0; k < K; ++k) g[k] += e * p[k];
      }
    }
  });
}

}  // namespace bl
