// The CPU backend's multi-task ops (backend.h, "multi-task"; native/multitask). The spec of
// cuda/cuda_multitask.cu.
#include <cmath>
#include <vector>

#include "../../common/thread_pool.h"
#include "cpu_backend.h"
#include "cpu_kernels.h"

namespace bl {

void CpuBackend::bias_act_gather(float* Z, const float* biases, const int32_t* task, int B, int H, int K, Act act) {
  dispatch_act(act, [&](auto tag) {
    cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
      bias_act_rows<decltype(tag)::value>(Z, biases, task, H, b0, b1);
    });
  });
}

void CpuBackend::column_sum_scatter(const float* G, const int32_t* task, int B, int H, int K, float* out) {
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

void CpuBackend::softmax_xent_task(const float* logits, const int32_t* labels, const int32_t* task, const int32_t* off,
                                   const int32_t* classes, int B, int R, int K, float scale, float* dlogits,
                                   float* stats) {
  std::vector<double> loss(K, 0.0), hits(K, 0.0);
  for (int b = 0; b < B; ++b) {
    const int t = task[b], o0 = off[t], O = classes[t];
    const float* z = logits + (size_t)b * R + o0;
    float* d = dlogits + (size_t)b * R;
    const SoftmaxRow row = softmax_row(z, O);
    const float mx = row.mx;
    const double sum = row.sum;
    const int y = labels[b];
    loss[t] += std::log(sum) - (static_cast<double>(z[y]) - mx);
    hits[t] += row.arg == y;
    const double inv = 1.0 / sum;
    double p[64];
    const bool small = O <= 64;
    if (small)
      for (int o = 0; o < O; ++o) p[o] = std::exp(static_cast<double>(z[o]) - mx) * inv;
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

void CpuBackend::task_gates(const float* theta, size_t n, float slope, bool hard, float* gates) {
  cpu_pool().parallel_for(n, 16384, [&](size_t i0, size_t i1) {
    if (hard)
      for (size_t i = i0; i < i1; ++i) gates[i] = theta[i] > 0.0f ? 1.0f : 0.0f;
    else
      for (size_t i = i0; i < i1; ++i) gates[i] = ActFn<Act::Sigmoid>::forward(slope * theta[i]);
  });
}

void CpuBackend::gate_rows(const float* U, const float* gates, const int32_t* task, int B, int H, float* A) {
  cpu_pool().parallel_for(B, row_grain(H), [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) {
      const float* u = U + b * H;
      const float* g = gates + (size_t)task[b] * H;
      float* a = A + b * H;
      for (int h = 0; h < H; ++h) a[h] = u[h] * g[h];
    }
  });
}

void CpuBackend::gate_backward(const float* dA, const float* U, const float* gates, const int32_t* task, int B, int H,
                               int K, float slope, float* dtheta, float* dU) {
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

void CpuBackend::task_moments(const float* A, const int32_t* task, const float* shift, int B, int H, int K,
                              float threshold, float* out) {
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

}  // namespace bl
