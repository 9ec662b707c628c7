// The CPU backend (backend.h): host memory, the thread pool, CBLAS or the built-in gemm. Its loops
// are the spec the CUDA kernels are checked against, split as the CUDA sources are:
//   cpu_backend.cpp    core and generic ops, fused MLP paths (cuda_kernels.cu, cuda_fused.cu, cuda_rnn.cu)
//   cpu_multitask.cpp  the multi-task ops (cuda_multitask.cu)
//   cpu_rnn.cpp        the recurrent-network ops (cuda_rnn.cu)
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "../../common/activation.h"
#include "../../common/error.h"
#include "../../common/sizes.h"
#include "../backend.h"
#include "cpu_kernels.h"

namespace bl {

// Rows of work per task for elementwise kernels over [B, H].
inline size_t row_grain(int H) { return std::max<size_t>(1, 16384 / std::max(1, H)); }

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
  // path is faster (and which the models have always taken there, so results stay as they were),
  // and energy_step's inline feedback past Of = kEnergyMaxFeedback.
  bool supports(Op op, const OpShape& s) const override {
    if (op == Op::SmallFanoutBackward) return s.out <= 64;
    if (op == Op::EnergyStep) return s.out <= kEnergyMaxFeedback;
    if (op == Op::NarrowProduct) return s.out <= kNarrowMaxOut;
    return true;
  }

  void* alloc(size_t bytes) override {
    void* p = nullptr;
    require_host_memory(bytes, "a host buffer");
    const size_t rounded = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0 || p == nullptr)
      fail("E_OOM", "out of memory: allocating " + std::to_string(bytes) + " bytes of host memory failed");
    return p;
  }
  void release(void* p) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void download(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memmove(dst, src, bytes);
  }
  void fill(float* dst, float value, size_t n) override { std::fill(dst, dst + n, value); }
  void synchronize() override {}

  void fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) override {
    cpu_fill_weights(W, rows, cols, seed, stream, dist, a);
  }

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) override {
    cpu_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }

  // ---- frozen matrices in a precision (cpu_frozen.cpp, cpu_bf16.cpp)
  void round_bf16(float* x, size_t n) override;
  size_t frozen_bytes(int N, int K, Precision p) const override;
  void frozen_fill(void* W, int N, int K, Precision p, uint64_t seed, uint32_t stream, Dist dist, double a) override;
  void frozen_matmul(int M, float alpha, const float* X, int ldx, const FrozenMatrix& W, float beta, float* Y,
                     int ldy) override;
  void frozen_matmul_back(int M, float alpha, const float* dY, int ldy, const FrozenMatrix& W, float beta, float* dX,
                          int ldx) override;
  void frozen_read(const FrozenMatrix& W, float* out) override;

  // ---- core ops (cpu_backend.cpp)
  void bias_act(float* Z, const float* bias, int B, int H, Act act) override;
  void act_backward(float* G, const float* A, int B, int H, Act act) override;
  void column_sum(const float* G, int B, int H, float beta, float* out) override;
  void softmax_xent(const float* logits, const int32_t* labels, int B, int O, float scale, float* dlogits,
                    float* stats) override;
  void mse(const float* Y, const float* T, int B, int O, float scale, float* dY, float* stats) override;
  void gather_rows(const float* src, const int32_t* idx, int B, int D, float* dst) override;
  void gather_labels(const int32_t* src, const int32_t* idx, int B, int32_t* dst) override;
  void adam(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2, float eps, float wd,
            float bc1, float bc2) override;
  void sgd(float* p, const float* g, float* vel, size_t n, float lr, float mu, bool nesterov, float wd) override;

  // ---- generic array ops (cpu_backend.cpp)
  void gather_seq(const float* src, const int32_t* idx, int B, int T, int D, size_t row_stride, size_t offset,
                  float* dst) override;
  void axpby(float* out, float a, const float* x, float b, const float* y, size_t n) override;
  void scatter_add_rows(const float* src, const int32_t* idx, int B, int D, int C, float alpha, float beta,
                        float* out) override;
  void column_dot(const float* A, const float* Bm, int rows, int H, float beta, float* out) override;
  void sum_squares(const float* x, size_t n, float* out) override;
  void copy2d(float* dst, int ldd, const float* src, int lds, int rows, int cols) override;

  // ---- fused MLP paths (cpu_backend.cpp)
  void bias_act_readout(float* Z, const float* bias, Act act, const float* W, const float* c, int B, int H, int O,
                        float* Y) override;
  void small_fanout_backward(const float* dZ, const float* W, const float* A, int B, int O, int H, Act act, float beta,
                             float* out) override;

  // ---- multi-task (cpu_multitask.cpp; native/multitask)
  void bias_act_gather(float* Z, const float* biases, const int32_t* task, int B, int H, int K, Act act) override;
  void column_sum_scatter(const float* G, const int32_t* task, int B, int H, int K, float* out) override;
  void softmax_xent_task(const float* logits, const int32_t* labels, const int32_t* task, const int32_t* off,
                         const int32_t* classes, int B, int R, int K, float scale, float* dlogits,
                         float* stats) override;
  void task_gates(const float* theta, size_t n, float slope, bool hard, float* gates) override;
  void gate_rows(const float* U, const float* gates, const int32_t* task, int B, int H, float* A) override;
  void gate_backward(const float* dA, const float* U, const float* gates, const int32_t* task, int B, int H, int K,
                     float slope, float* dtheta, float* dU) override;
  void task_moments(const float* A, const int32_t* task, const float* shift, int B, int H, int K, float threshold,
                    float* out) override;

  // ---- recurrent networks (cpu_rnn.cpp; native/rnn)
  void rnn_step(float* Z, const float* bias, const float* Rp, float* Rn, int B, int H, Act act, float decay,
                float gain) override;
  void rnn_step_backward(float* Dr, const float* DYA, const float* Phi, float* dZ, int B, int H, Act act,
                         float gain) override;
  void seq_mse(const float* Y, const float* Yprev, const float* Tg, const float* w, const float* v, int Tw, int B,
               int O, float scale, float* dY, float* stats) override;
  void outer_trace(float* P, const float* D, const float* X, int B, int H, int K, float decay, float gain,
                   const float* jd = nullptr, int jd_stride = 1) override;
  void trace_grad(const float* P, const float* E, int B, int H, int K, float beta, float* G) override;

  // ---- energy networks (cpu_energy.cpp; native/contrastive)
  void energy_step(float* Z, float* U, const float* D, const float* D2, const float* F, const float* Wf, int Of,
                   const float* bias, const float* T, int B, int H, Act act, float eps, float beta,
                   float* delta) override;
  void adjoint_step(float* G, const float* U, const float* D, const float* C, int B, int H, Act act, float eps,
                    float* delta) override;
  void narrow_product(const float* A, const float* W, int B, int K, int O, float* C) override;
};

}  // namespace bl
