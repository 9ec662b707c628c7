// The CPU backend: host memory, the thread pool, CBLAS or the built-in gemm.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "../../common/activation.h"
#include "../../common/error.h"
#include "../../common/thread_pool.h"
#include "../backend.h"
#include "cpu_kernels.h"

namespace bl {

namespace {

// Rows of work per task for elementwise kernels over [B, H].
size_t row_grain(int H) { return std::max<size_t>(1, 16384 / std::max(1, H)); }

// Z[B,H] <- act(Z + bias[task[b] * H]) for the rows [b0, b1); task null: one shared bias row.
template <Act A>
void bias_act_rows(float* Z, const float* biases, const int32_t* task, int H, size_t b0, size_t b1) {
  for (size_t b = b0; b < b1; ++b) {
    float* z = Z + b * H;
    const float* bias = task ? biases + (size_t)task[b] * H : biases;
    for (int h = 0; h < H; ++h) z[h] = ActFn<A>::forward(z[h] + bias[h]);
  }
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  // Every op at every shape, except the fused small-fan-out backward past O = 64, where the gemm
  // path is faster (and which the models have always taken there, so results stay as they were).
  bool supports(Op op, const OpShape& s) const override {
    return op != Op::SmallFanoutBackward || s.out <= 64;
  }

  void* alloc(size_t bytes) override {
    void* p = nullptr;
    const size_t rounded = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0 || p == nullptr)
      fail("E_NATIVE", "out of host memory allocating " + std::to_string(bytes) + " bytes");
    return p;
  }
  void release(void* p) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { if (bytes) std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { if (bytes) std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { if (bytes) std::memmove(dst, src, bytes); }
  void fill(float* dst, float value, size_t n) override { std::fill(dst, dst + n, value); }
  void synchronize() override {}

  void fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) override {
    cpu_fill_weights(W, rows, cols, seed, stream, dist, a);
  }

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) override {
    cpu_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }

  void bias_act(float* Z, const float* bias, int B, int H, Act act) override {
    dispatch_act(act, [&](auto tag) {
      cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
        bias_act_rows<decltype(tag)::value>(Z, bias, nullptr, H, b0, b1);
      });
    });
  }

  void act_backward(float* G, const float* A, int B, int H, Act act) override {
    if (act == Act::Identity) return;
    dispatch_act(act, [&](auto tag) {
      using F = ActFn<decltype(tag)::value>;
      cpu_pool().parallel_for((size_t)B * H, 16384, [&](size_t i0, size_t i1) {
        for (size_t i = i0; i < i1; ++i) G[i] *= F::grad(A[i]);
      });
    });
  }

  void column_sum(const float* G, int B, int H, float beta, float* out) override {
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

  void softmax_xent(const float* logits, const int32_t* labels, int B, int O, float scale, float* dlogits,
                    float* stats) override {
    double loss = 0.0;
    int correct = 0;
    for (int b = 0; b < B; ++b) {
      const float* z = logits + (size_t)b * O;
      float* d = dlogits + (size_t)b * O;
      int arg = 0;
      float mx = z[0];
      for (int o = 1; o < O; ++o) if (z[o] > mx) { mx = z[o]; arg = o; }
      double sum = 0.0;
      for (int o = 0; o < O; ++o) sum += std::exp(static_cast<double>(z[o]) - mx);
      const int y = labels[b];
      loss += std::log(sum) - (static_cast<double>(z[y]) - mx);
      correct += arg == y;
      const double inv = 1.0 / sum;
      for (int o = 0; o < O; ++o) {
        const double p = std::exp(static_cast<double>(z[o]) - mx) * inv;
        d[o] = static_cast<float>(scale * (p - (o == y ? 1.0 : 0.0)));
      }
    }
    stats[0] = static_cast<float>(loss);
    stats[1] = static_cast<float>(correct);
  }

  void mse(const float* Y, const float* T, int B, int O, float scale, float* dY, float* stats) override {
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

  void gather_rows(const float* src, const int32_t* idx, int B, int D, float* dst) override {
    cpu_pool().parallel_for(B, row_grain(D), [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) std::memcpy(dst + b * D, src + (size_t)idx[b] * D, sizeof(float) * D);
    });
  }
  void gather_labels(const int32_t* src, const int32_t* idx, int B, int32_t* dst) override {
    for (int b = 0; b < B; ++b) dst[b] = src[idx[b]];
  }

  void adam(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2, float eps, float wd,
            float bc1, float bc2) override {
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

  void bias_act_readout(float* Z, const float* bias, Act act, const float* W, const float* c, int B, int H, int O,
                        float* Y) override {
    bias_act(Z, bias, B, H, act);
    cpu_gemm(false, true, B, O, H, 1.0f, Z, H, W, H, 0.0f, Y, O);
    bias_act(Y, c, B, O, Act::Identity);
  }

  void small_fanout_backward(const float* dZ, const float* W, const float* A, int B, int O, int H, Act act,
                             float beta, float* out) override {
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

  void sgd(float* p, const float* g, float* vel, size_t n, float lr, float mu, bool nesterov, float wd) override {
    cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1; ++i) {
        const float gi = g[i] + wd * p[i];
        if (mu == 0.0f) { p[i] -= lr * gi; continue; }
        vel[i] = mu * vel[i] + gi;
        p[i] -= lr * (nesterov ? gi + mu * vel[i] : vel[i]);
      }
    });
  }

  // ---- multi-task kernels (see backend.h; native/multitask) ----
  void bias_act_gather(float* Z, const float* biases, const int32_t* task, int B, int H, int K, Act act) override {
    dispatch_act(act, [&](auto tag) {
      cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
        bias_act_rows<decltype(tag)::value>(Z, biases, task, H, b0, b1);
      });
    });
  }

  void column_sum_scatter(const float* G, const int32_t* task, int B, int H, int K, float* out) override {
    // Column blocks in parallel; inside a block every row is added to its task's row in order.
    cpu_pool().parallel_for(H, 256, [&](size_t h0, size_t h1) {
      const size_t w = h1 - h0;
      for (int k = 0; k < K; ++k) std::fill(out + (size_t)k * H + h0, out + (size_t)k * H + h1, 0.0f);
      for (int b = 0; b < B; ++b) {
        const float* g = G + (size_t)b * H + h0;
        float* o = out + (size_t)task[b] * H + h0;
        for (size_t j = 0; j < w; ++j) o[j] += g[j];
      }
    });
  }

  void softmax_xent_task(const float* logits, const int32_t* labels, const int32_t* task, const int32_t* off,
                         const int32_t* classes, int B, int R, int K, float scale, float* dlogits,
                         float* stats) override {
    std::vector<double> loss(K, 0.0), hits(K, 0.0);
    for (int b = 0; b < B; ++b) {
      const int t = task[b], o0 = off[t], O = classes[t];
      const float* z = logits + (size_t)b * R + o0;
      float* d = dlogits + (size_t)b * R;
      int arg = 0;
      float mx = z[0];
      for (int o = 1; o < O; ++o) if (z[o] > mx) { mx = z[o]; arg = o; }
      double sum = 0.0;
      for (int o = 0; o < O; ++o) sum += std::exp(static_cast<double>(z[o]) - mx);
      const int y = labels[b];
      loss[t] += std::log(sum) - (static_cast<double>(z[y]) - mx);
      hits[t] += arg == y;
      const double inv = 1.0 / sum;
      double p[64];
      const bool small = O <= 64;
      if (small) for (int o = 0; o < O; ++o) p[o] = std::exp(static_cast<double>(z[o]) - mx) * inv;
      // z points into logits, which dlogits may alias: probabilities are taken before writing.
      for (int o = 0; o < o0; ++o) d[o] = 0.0f;
      for (int o = 0; o < O; ++o) {
        const double po = small ? p[o] : std::exp(static_cast<double>(z[o]) - mx) * inv;
        d[o0 + o] = static_cast<float>(scale * (po - (o == y ? 1.0 : 0.0)));
      }
      for (int o = o0 + O; o < R; ++o) d[o] = 0.0f;
    }
    for (int k = 0; k < K; ++k) {
      stats[2 * k] = static_cast<float>(loss[k]);
      stats[2 * k + 1] = static_cast<float>(hits[k]);
    }
  }

  void task_gates(const float* theta, size_t n, float slope, bool hard, float* gates) override {
    cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
      if (hard) for (size_t i = i0; i < i1; ++i) gates[i] = theta[i] > 0.0f ? 1.0f : 0.0f;
      else for (size_t i = i0; i < i1; ++i) gates[i] = 1.0f / (1.0f + std::exp(-slope * theta[i]));
    });
  }

  void gate_rows(const float* U, const float* gates, const int32_t* task, int B, int H, float* A) override {
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) {
        const float* u = U + b * H;
        const float* g = gates + (size_t)task[b] * H;
        float* a = A + b * H;
        for (int h = 0; h < H; ++h) a[h] = u[h] * g[h];
      }
    });
  }

  void gate_backward(const float* dA, const float* U, const float* gates, const int32_t* task, int B, int H, int K,
                     float slope, float* dtheta, float* dU) override {
    cpu_pool().parallel_for(H, 256, [&](size_t h0, size_t h1) {
      const size_t w = h1 - h0;
      for (int k = 0; k < K; ++k) std::fill(dtheta + (size_t)k * H + h0, dtheta + (size_t)k * H + h1, 0.0f);
      for (int b = 0; b < B; ++b) {
        const size_t row = (size_t)b * H + h0, trow = (size_t)task[b] * H + h0;
        const float* da = dA + row;
        const float* u = U + row;
        const float* g = gates + trow;
        float* acc = dtheta + trow;
        float* du = dU + row;
        for (size_t j = 0; j < w; ++j) {
          const float d = da[j];
          acc[j] += d * u[j];
          du[j] = d * g[j];
        }
      }
      for (int k = 0; k < K; ++k) {
        float* acc = dtheta + (size_t)k * H + h0;
        const float* g = gates + (size_t)k * H + h0;
        for (size_t j = 0; j < w; ++j) acc[j] *= slope * g[j] * (1.0f - g[j]);
      }
    });
  }

  void task_moments(const float* A, const int32_t* task, const float* shift, int B, int H, int K, float threshold,
                    float* out) override {
    const size_t KH = (size_t)K * H;
    cpu_pool().parallel_for(H, 256, [&](size_t h0, size_t h1) {
      const size_t w = h1 - h0;
      std::vector<double> s1(K * w, 0.0), s2(K * w, 0.0), cnt(K * w, 0.0);
      for (int b = 0; b < B; ++b) {
        const int t = task[b];
        const float* a = A + (size_t)b * H + h0;
        const float* sh = shift ? shift + (size_t)t * H + h0 : nullptr;
        double* p1 = s1.data() + (size_t)t * w;
        double* p2 = s2.data() + (size_t)t * w;
        double* pc = cnt.data() + (size_t)t * w;
        for (size_t j = 0; j < w; ++j) {
          const double v = static_cast<double>(a[j]) - (sh ? sh[j] : 0.0f);
          p1[j] += v;
          p2[j] += v * v;
          pc[j] += a[j] > threshold ? 1.0 : 0.0;
        }
      }
      for (int k = 0; k < K; ++k)
        for (size_t j = 0; j < w; ++j) {
          const size_t i = (size_t)k * H + h0 + j;
          out[i] = static_cast<float>(s1[k * w + j]);
          out[KH + i] = static_cast<float>(s2[k * w + j]);
          out[2 * KH + i] = static_cast<float>(cnt[k * w + j]);
        }
    });
  }

  // ---- recurrent networks (native/rnn) ----
  void gather_seq(const float* src, const int32_t* idx, int B, int T, int D, size_t row_stride, size_t offset,
                  float* dst) override {
    if (D <= 0) return;
    cpu_pool().parallel_for((size_t)T * B, row_grain(D), [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const size_t t = r / B, b = r % B;
        std::memcpy(dst + r * D, src + (size_t)idx[b] * row_stride + offset + t * D, sizeof(float) * D);
      }
    });
  }

  void axpby(float* out, float a, const float* x, float b, const float* y, size_t n) override {
    cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
      if (y && b != 0.0f) for (size_t i = i0; i < i1; ++i) out[i] = a * x[i] + b * y[i];
      else for (size_t i = i0; i < i1; ++i) out[i] = a * x[i];
    });
  }

  void rnn_step(float* Z, const float* bias, const float* Rp, float* Rn, int B, int H, Act act, float decay,
                float gain) override {
    dispatch_act(act, [&](auto tag) {
      using F = ActFn<decltype(tag)::value>;
      cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
        for (size_t b = b0; b < b1; ++b) {
          float* z = Z + b * H;
          const float* rp = Rp + b * H;
          float* rn = Rn + b * H;
          for (int h = 0; h < H; ++h) { const float a = F::forward(z[h] + bias[h]); z[h] = a; rn[h] = decay * rp[h] + gain * a; }
        }
      });
    });
  }

  void rnn_step_backward(float* Dr, const float* DYA, const float* Phi, float* dZ, int B, int H, Act act,
                         float gain) override {
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

  void seq_mse(const float* Y, const float* Yprev, const float* Tg, const float* w, const float* v, int Tw, int B,
               int O, float scale, float* dY, float* stats) override {
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
    for (int b = 0; b < B; ++b) { l += loss[b]; s += sq[b]; }
    stats[0] = static_cast<float>(l);
    stats[1] = static_cast<float>(s);
  }

  void scatter_add_rows(const float* src, const int32_t* idx, int B, int D, int C, float alpha, float beta,
                        float* out) override {
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

  void column_dot(const float* A, const float* Bm, int rows, int H, float beta, float* out) override {
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

  void outer_trace(float* P, const float* D, const float* X, int B, int H, int K, float decay, float gain) override {
    cpu_pool().parallel_for((size_t)B * H, row_grain(K), [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const size_t b = r / H;
        const float s = gain * D[r];
        const float* x = X + b * K;
        float* p = P + r * K;
        for (int k = 0; k < K; ++k) p[k] = decay * p[k] + s * x[k];
      }
    });
  }

  void trace_grad(const float* P, const float* E, int B, int H, int K, float beta, float* G) override {
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

  void sum_squares(const float* x, size_t n, float* out) override {
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

  void copy2d(float* dst, int ldd, const float* src, int lds, int rows, int cols) override {
    for (int r = 0; r < rows; ++r) std::memmove(dst + (size_t)r * ldd, src + (size_t)r * lds, sizeof(float) * cols);
  }
};

}  // namespace

std::shared_ptr<Backend> make_cpu_backend() {
  static std::shared_ptr<Backend> cpu = std::make_shared<CpuBackend>();
  return cpu;
}

}  // namespace bl
