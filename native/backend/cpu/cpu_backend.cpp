// The CPU backend's memory, core and generic ops and fused MLP paths (cpu_backend.h).
#include "cpu_backend.h"

#include <cmath>
#include <new>
#include <vector>

#include "../../common/thread_pool.h"
#include "cpu_kernels.h"

namespace bl {

void CpuBackend::bias_act(float* Z, const float* bias, int B, int H, Act act) {
  dispatch_act(act, [&](auto tag) {
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      bias_act_rows<decltype(tag)::value>(Z, bias, nullptr, H, b0, b1);
    });
  });
}

void CpuBackend::act_backward(float* G, const float* A, int B, int H, Act act) {
  if (act == Act::Identity) return;
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for((size_t)B * H, 16384, [&](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1; ++i) G[i] *= F::grad(A[i]);
    });
  });
}

void CpuBackend::column_sum(const float* G, int B, int H, float beta, float* out) {
  // Parallel over column blocks; each column summed over rows in order.
  cpu_pool().parallel_for(H, 256, [&](size_t h0, size_t h1) {
    const size_t w = h1 - h0;
    float acc[256];
    for (size_t j = 0; j < w; ++j) acc[j] = 0.0f;
    for (int b = 0; b < B; ++b) {
      const float* g = G + (size_t)b * H + h0;
      for (size_t j = 0; j < w; ++j) acc[j] += g[j];
    }
    for (size_t j = 0; j < w; ++j) out[h0 + j] = (beta == 0.0f ? 0.0f : beta * out[h0 + j]) + acc[j];
  });
}

void CpuBackend::softmax_xent(const float* logits, const int32_t* labels, int B, int O, float scale, float* dlogits,
                              float* stats) {
  double loss = 0.0;
  int correct = 0;
  for (int b = 0; b < B; ++b) {
    const float* z = logits + (size_t)b * O;
    float* d = dlogits + (size_t)b * O;
    const SoftmaxRow row = softmax_row(z, O);
    const float mx = row.mx;
    const double sum = row.sum;
    const int y = labels[b];
    loss += std::log(sum) - (static_cast<double>(z[y]) - mx);
    correct += row.arg == y;
    const double inv = 1.0 / sum;
    for (int o = 0; o < O; ++o) {
      const double p = std::exp(static_cast<double>(z[o]) - mx) * inv;
      d[o] = static_cast<float>(scale * (p - (o == y ? 1.0 : 0.0)));
    }
  }
  stats[0] = static_cast<float>(loss);
  stats[1] = static_cast<float>(correct);
}

void CpuBackend::mse(const float* Y, const float* T, int B, int O, float scale, float* dY, float* stats) {
  double loss = 0.0;
  const double invO = 1.0 / O;
  for (size_t i = 0; i < (size_t)B * O; ++i) {
    const double e = static_cast<double>(Y[i]) - T[i];
    loss += e * e * invO;
    if (dY) dY[i] = static_cast<float>(scale * 2.0 * e * invO);
  }
  stats[0] = static_cast<float>(loss);
  stats[1] = 0.0f;
}

void CpuBackend::gather_rows(const float* src, const int32_t* idx, int B, int D, float* dst) {
  cpu_pool().parallel_for(B, row_grain(D), [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) std::memcpy(dst + b * D, src + (size_t)idx[b] * D, sizeof(float) * D);
  });
}

void CpuBackend::gather_labels(const int32_t* src, const int32_t* idx, int B, int32_t* dst) {
  for (int b = 0; b < B; ++b) dst[b] = src[idx[b]];
}

void CpuBackend::adam(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2, float eps,
                      float wd, float bc1, float bc2) {
  const float step = lr / bc1, inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
  cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const float gi = g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      p[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  });
}

void CpuBackend::sgd(float* p, const float* g, float* vel, size_t n, float lr, float mu, bool nesterov, float wd) {
  cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const float gi = g[i] + wd * p[i];
      if (mu == 0.0f) {
        p[i] -= lr * gi;
        continue;
      }
      vel[i] = mu * vel[i] + gi;
      p[i] -= lr * (nesterov ? gi + mu * vel[i] : vel[i]);
    }
  });
}

// ---- generic array ops

void CpuBackend::gather_seq(const float* src, const int32_t* idx, int B, int T, int D, size_t row_stride, size_t offset,
                            float* dst) {
  if (D <= 0) return;
  cpu_pool().parallel_for((size_t)T * B, row_grain(D), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const size_t t = r / B, b = r % B;
      std::memcpy(dst + r * D, src + (size_t)idx[b] * row_stride + offset + t * D, sizeof(float) * D);
    }
  });
}

void CpuBackend::axpby(float* out, float a, const float* x, float b, const float* y, size_t n) {
  cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
    if (y && b != 0.0f)
      for (size_t i = i0; i < i1; ++i) out[i] = a * x[i] + b * y[i];
    else
      for (size_t i = i0; i < i1; ++i) out[i] = a * x[i];
  });
}

void CpuBackend::scatter_add_rows(const float* src, const int32_t* idx, int B, int D, int C, float alpha, float beta,
                                  float* out) {
  cpu_pool().parallel_for(D, 256, [&](size_t d0, size_t d1) {
    for (int c = 0; c < C; ++c) {
      float* o = out + (size_t)c * D;
      for (size_t d = d0; d < d1; ++d) o[d] = beta == 0.0f ? 0.0f : beta * o[d];
    }
    for (int b = 0; b < B; ++b) {
      float* o = out + (size_t)idx[b] * D;
      const float* s = src + (size_t)b * D;
      for (size_t d = d0; d < d1; ++d) o[d] += alpha * s[d];
    }
  });
}

void CpuBackend::column_dot(const float* A, const float* Bm, int rows, int H, float beta, float* out) {
  // Blocks of at most 256 columns (the pool's grain), each summed over rows in order.
  cpu_pool().parallel_for(H, 256, [&](size_t c0, size_t c1) {
    for (size_t h0 = c0; h0 < c1; h0 += 256) {
      const size_t w = std::min<size_t>(256, c1 - h0);
      float acc[256];
      for (size_t j = 0; j < w; ++j) acc[j] = 0.0f;
      for (int r = 0; r < rows; ++r) {
        const float* a = A + (size_t)r * H + h0;
        const float* b = Bm + (size_t)r * H + h0;
        for (size_t j = 0; j < w; ++j) acc[j] += a[j] * b[j];
      }
      for (size_t j = 0; j < w; ++j) out[h0 + j] = (beta == 0.0f ? 0.0f : beta * out[h0 + j]) + acc[j];
    }
  });
}

void CpuBackend::sum_squares(const float* x, size_t n, float* out) {
  const size_t grain = 65536, chunks = (n + grain - 1) / grain;
  std::vector<double> part(std::max<size_t>(1, chunks), 0.0);
  // Fixed chunks of `grain` (whatever the thread count), summed in chunk order.
  cpu_pool().parallel_for(chunks, 1, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c) {
      double s = 0.0;
      for (size_t i = c * grain, e = std::min(n, (c + 1) * grain); i < e; ++i) s += static_cast<double>(x[i]) * x[i];
      part[c] = s;
    }
  });
  double s = 0.0;
  for (double p : part) s += p;
  out[0] = static_cast<float>(s);
}

void CpuBackend::copy2d(float* dst, int ldd, const float* src, int lds, int rows, int cols) {
  for (int r = 0; r < rows; ++r) std::memmove(dst + (size_t)r * ldd, src + (size_t)r * lds, sizeof(float) * cols);
}

// ---- fused MLP paths

void CpuBackend::bias_act_readout(float* Z, const float* bias, Act act, const float* W, const float* c, int B, int H,
                                  int O, float* Y) {
  bias_act(Z, bias, B, H, act);
  cpu_gemm(false, true, B, O, H, 1.0f, Z, H, W, H, 0.0f, Y, O);
  bias_act(Y, c, B, O, Act::Identity);
}

void CpuBackend::small_fanout_backward(const float* dZ, const float* W, const float* A, int B, int O, int H, Act act,
                                       float beta, float* out) {
  // Column blocks in parallel; within a block, rows in order (deterministic).
  dispatch_act(act, [&](auto tag) {
    using F = ActFn<decltype(tag)::value>;
    cpu_pool().parallel_for(H, 256, [&](size_t h0, size_t h1) {
      const size_t w = h1 - h0;
      float acc[256], g[256];
      for (size_t j = 0; j < w; ++j) acc[j] = 0.0f;
      for (int b = 0; b < B; ++b) {
        const float* dz = dZ + (size_t)b * O;
        for (size_t j = 0; j < w; ++j) g[j] = 0.0f;
        for (int o = 0; o < O; ++o) {
          const float d = dz[o];
          const float* wr = W + (size_t)o * H + h0;
          for (size_t j = 0; j < w; ++j) g[j] += d * wr[j];
        }
        const float* a = A + (size_t)b * H + h0;
        for (size_t j = 0; j < w; ++j) acc[j] += g[j] * F::grad(a[j]);
      }
      for (size_t j = 0; j < w; ++j) out[h0 + j] = (beta == 0.0f ? 0.0f : beta * out[h0 + j]) + acc[j];
    });
  });
}

std::shared_ptr<Backend> make_cpu_backend() {
  static std::shared_ptr<Backend> cpu = std::make_shared<CpuBackend>();
  return cpu;
}

}  // namespace bl
