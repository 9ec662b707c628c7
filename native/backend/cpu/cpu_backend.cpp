// The CPU backend: host memory, the thread pool, CBLAS or the built-in gemm.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "../../common/error.h"
#include "../../common/thread_pool.h"
#include "../backend.h"
#include "cpu_kernels.h"

namespace bl {

namespace {

// Rows of work per task for elementwise kernels over [B, H].
size_t row_grain(int H) { return std::max<size_t>(1, 16384 / std::max(1, H)); }

inline float act_forward(float z, Act act) {
  switch (act) {
    case Act::Relu: return z > 0.0f ? z : 0.0f;
    case Act::Tanh: return std::tanh(z);
    case Act::Sigmoid: return 1.0f / (1.0f + std::exp(-z));
    case Act::Identity: default: return z;
  }
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  bool supports(Op) const override { return true; }

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
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) {
        float* z = Z + b * H;
        switch (act) {
          case Act::Relu:
            for (int h = 0; h < H; ++h) { const float v = z[h] + bias[h]; z[h] = v > 0.0f ? v : 0.0f; }
            break;
          case Act::Identity:
            for (int h = 0; h < H; ++h) z[h] += bias[h];
            break;
          default:
            for (int h = 0; h < H; ++h) z[h] = act_forward(z[h] + bias[h], act);
        }
      }
    });
  }

  void act_backward(float* G, const float* A, int B, int H, Act act) override {
    if (act == Act::Identity) return;
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) {
        float* g = G + b * H;
        const float* a = A + b * H;
        switch (act) {
          case Act::Relu: for (int h = 0; h < H; ++h) g[h] = a[h] > 0.0f ? g[h] : 0.0f; break;
          case Act::Tanh: for (int h = 0; h < H; ++h) g[h] *= 1.0f - a[h] * a[h]; break;
          case Act::Sigmoid: for (int h = 0; h < H; ++h) g[h] *= a[h] * (1.0f - a[h]); break;
          default: break;
        }
      }
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
};

}  // namespace

std::shared_ptr<Backend> make_cpu_backend() {
  static std::shared_ptr<Backend> cpu = std::make_shared<CpuBackend>();
  return cpu;
}

}  // namespace bl
