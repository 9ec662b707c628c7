// The CUDA backend: device memory (cudaMalloc), one CUDA stream, cuBLAS for the matrix products
// and our own kernels (cuda_kernels.cu, cuda_weights.cu, cuda_fused.cu, and the multi-task and
// recurrent extensions in cuda_multitask.cu, cuda_rnn.cu, cuda_segments.cu) for everything else. Compiled only into
// biaslearn_cuda.node (BL_WITH_CUDA); the CPU module never depends on CUDA.
//
// Invariants:
//   - One backend per process (make_cuda_backend), bound to device 0 of the visible devices
//     (select the GPU with CUDA_VISIBLE_DEVICES).
//   - All work goes on one stream owned by the backend; the cuBLAS handle is bound to it, so
//     kernels, products and copies run in the order they were issued.
//   - A mutex serialises every call: two models may train at once from libuv worker threads;
//     their work interleaves on the stream, each model's in its own order.
//   - Nothing is allocated per step: the per-row loss scratch, the row groups of the per-task
//     reductions and the partial sums share one grow-only buffer.
//   - upload/download return only when the bytes have moved (the host buffer may be a JS typed
//     array or a std::vector freed right after); every other call returns once enqueued.
//   - Matrix products are full FP32 (CUBLAS_DEFAULT_MATH); BIASLEARN_CUDA_TF32=1 in the
//     environment (read once, when the backend is created) allows TF32 tensor cores.
//   - Every CUDA and cuBLAS call is checked: failures throw BlError("E_NATIVE", "<call> failed:
//     <reason>"); no driver or no device throws E_BACKEND_UNAVAILABLE. Nothing aborts.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "../../common/error.h"
#include "../backend.h"
#include "cuda_check.h"
#include "cuda_kernels.cuh"

namespace bl {

namespace {

void check_blas(cublasStatus_t s, const char* call) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  const char* why = cublasGetStatusString(s);
  throw BlError("E_NATIVE", std::string(call) + " failed: " + (why ? why : "unknown cuBLAS status") + " (status " +
                                std::to_string(static_cast<int>(s)) + ")");
}

[[noreturn]] void unavailable(const std::string& reason) { throw BlError("E_BACKEND_UNAVAILABLE", reason); }

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

class CudaBackend final : public Backend {
 public:
  // Checks for a driver, a device and a kernel image for it; throws E_BACKEND_UNAVAILABLE
  // with the reason otherwise.
  static std::shared_ptr<Backend> create() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      std::string reason =
          std::string("backend 'cuda' has no usable device: cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
      if (e == cudaErrorInsufficientDriver)
        reason += " (no NVIDIA driver is loaded, or it is older than this module's CUDA runtime " +
                  std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) + ")";
      unavailable(reason);
    }
    if (count <= 0) unavailable("backend 'cuda' has no usable device: cudaGetDeviceCount found no CUDA device");
    const int device = 0;
    e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaFree(nullptr);  // creates the primary context now, not mid-training
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      unavailable(std::string("backend 'cuda' cannot use device 0: ") + cudaGetErrorString(e));
    }
    cudaDeviceProp prop;
    BL_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    e = cuda::probe_kernel_image();
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      unavailable(std::string("biaslearn_cuda.node has no kernel image for ") + prop.name + " (compute capability " +
                  std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                  "): rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(prop.major * 10 + prop.minor) + " (" +
                  cudaGetErrorString(e) + ")");
    }
    return std::make_shared<CudaBackend>(device, prop);
  }

  CudaBackend(int device, const cudaDeviceProp& prop) : device_(device) {
    try {
      BL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      check_blas(cublasCreate(&blas_), "cublasCreate");
      check_blas(cublasSetStream(blas_, stream_), "cublasSetStream");
      // cuBLAS's recommended workspace (32 MiB on Hopper, 4 MiB before): with less it may fall
      // back to older kernels. Allocated once, for the backend's lifetime.
      blas_workspace_bytes_ = prop.major >= 9 ? (32u << 20) : (4u << 20);
      BL_CUDA_CHECK(cudaMalloc(&blas_workspace_, blas_workspace_bytes_));
      check_blas(cublasSetWorkspace(blas_, blas_workspace_, blas_workspace_bytes_), "cublasSetWorkspace");
      tf32_ = env_flag("BIASLEARN_CUDA_TF32");
      check_blas(cublasSetMathMode(blas_, tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 "cublasSetMathMode");
    } catch (...) {
      destroy();
      throw;
    }
    ctx_.stream = stream_;
    // Grid-stride kernels: enough blocks to fill the device a few times over, no more.
    ctx_.max_blocks = (prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 16) * 16;
  }

  ~CudaBackend() override { destroy(); }

  std::string name() const override { return "cuda"; }
  // Every op of BL_OPS (backend.h) has a CUDA kernel; the fused readout ops have fan-out limits.
  // An op added to BL_OPS without a CUDA kernel fails test/core.ops.test.ts on a GPU machine (its
  // Backend default throws) until it is implemented or refused here.
  bool supports(Op op, const OpShape& s) const override {
    switch (op) {
      case Op::BiasActReadout:
        return s.out <= cuda::kReadoutMaxOut;
      case Op::SmallFanoutBackward:
        return s.out <= cuda::kSmallFanoutMaxOut;
      case Op::EnergyStep:
        return s.out <= kEnergyMaxFeedback;
      case Op::NarrowProduct:
        return s.out <= kNarrowMaxOut;
      default:
        return static_cast<int>(op) >= 0 && static_cast<int>(op) < kOpCount;
    }
  }

  // ---- memory ----

  void* alloc(size_t bytes) override {
    Guard g(*this);
    void* p = nullptr;
    cuda::check_cuda(cudaMalloc(&p, bytes ? bytes : 4), "cudaMalloc",
                     "allocating " + std::to_string(bytes) + " bytes of device memory");
    return p;
  }

  // Never throws: DeviceBuffer calls it from its destructor. Waits for the stream first so no
  // queued kernel still reads p. A failure (other than the runtime already unloading at process
  // exit) is reported on stderr and the block is leaked.
  void release(void* p) override {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    (void)cudaSetDevice(device_);
    (void)cudaStreamSynchronize(stream_);
    const cudaError_t e = cudaFree(p);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      if (e != cudaErrorCudartUnloading)
        std::fprintf(stderr, "biaslearn: cudaFree failed: %s (device memory leaked)\n", cudaGetErrorString(e));
    }
  }

  void upload(void* dst, const void* host_src, size_t bytes) override {
    if (bytes == 0) return;
    Guard g(*this);
    BL_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    BL_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the caller may free host_src on return
  }

  void download(void* host_dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    Guard g(*this);
    BL_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    BL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // Device to device, overlap-safe like the CPU's memmove (overlapping ranges go through scratch).
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0 || dst == src) return;
    Guard g(*this);
    const char* d = static_cast<const char*>(dst);
    const char* s = static_cast<const char*>(src);
    if (d < s + bytes && s < d + bytes) {
      void* tmp = scratch(bytes);
      BL_CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, stream_));
      BL_CUDA_CHECK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, stream_));
    } else {
      BL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
    }
  }

  void fill(float* dst, float value, size_t n) override {
    Guard g(*this);
    cuda::launch_fill(ctx_, dst, value, n);
  }

  void synchronize() override {
    Guard g(*this);
    BL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // ---- kernels ----

  // W[rows, cols], bit-identical to the CPU (cuda_weights.cu).
  void fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) override {
    Guard g(*this);
    cuda::launch_fill_weights(ctx_, W, rows, cols, seed, stream, dist, a);
  }

  // ---- frozen matrices in a precision. Bf16: W bf16 [N, K] row-major; the float input is
  // rounded to bf16 into scratch and cublasGemmEx multiplies bf16 x bf16 on tensor cores with
  // float32 accumulation (CUBLAS_COMPUTE_32F). Tf32: float32 W, CUBLAS_COMPUTE_32F_FAST_TF32 (the
  // explicit opt-in). Fp32: the Backend default, i.e. gemm (Sgemm).
  void round_bf16(float* x, size_t n) override {
    Guard g(*this);
    cuda::launch_round_bf16(ctx_, x, n);
  }
  size_t frozen_bytes(int N, int K, Precision p) const override {
    return (size_t)N * K * (p == Precision::Bf16 ? sizeof(uint16_t) : sizeof(float));
  }
  void frozen_fill(void* W, int N, int K, Precision p, uint64_t seed, uint32_t stream, Dist dist, double a) override {
    if (p != Precision::Bf16) return fill_weights(static_cast<float*>(W), N, K, seed, stream, dist, a);
    Guard g(*this);
    cuda::launch_fill_bf16(ctx_, static_cast<uint16_t*>(W), N, K, seed, stream, dist, a);
  }
  // Column-major C^T[m, M] = op(W)[m, k] A^T[k, M]: W is stored as the column-major [K, N] (ld K), A is
  // row-major [M, k] (ld lda), C row-major [M, m] (ld ldc). Tf32: fp32 inputs on the tensor cores;
  // Bf16: A rounded to a packed bf16 copy [M, k], bf16 products, fp32 accumulation.
  void frozen_gemm(cublasOperation_t opW, int m, int M, int k, float alpha, const FrozenMatrix& W, const float* A,
                   int lda, float beta, float* C, int ldc) {
    if (M == 0 || m == 0) return;
    if (W.precision == Precision::Tf32) {
      check_blas(cublasGemmEx(blas_, opW, CUBLAS_OP_N, m, M, k, &alpha, W.data, CUDA_R_32F, W.cols, A, CUDA_R_32F, lda,
                              &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx (tf32)");
      return;
    }
    uint16_t* ab = static_cast<uint16_t*>(scratch((size_t)M * k * sizeof(uint16_t)));
    cuda::launch_to_bf16(ctx_, A, M, k, lda, ab);
    check_blas(cublasGemmEx(blas_, opW, CUBLAS_OP_N, m, M, k, &alpha, W.data, CUDA_R_16BF, W.cols, ab, CUDA_R_16BF, k,
                            &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx (bf16)");
  }
  // Y[M, N] = alpha X[M, K] W^T + beta Y.
  void frozen_matmul(int M, float alpha, const float* X, int ldx, const FrozenMatrix& W, float beta, float* Y,
                     int ldy) override {
    if (W.precision == Precision::Fp32) return Backend::frozen_matmul(M, alpha, X, ldx, W, beta, Y, ldy);
    Guard g(*this);
    frozen_gemm(CUBLAS_OP_T, W.rows, M, W.cols, alpha, W, X, ldx, beta, Y, ldy);
  }
  // dX[M, K] = alpha dY[M, N] W + beta dX.
  void frozen_matmul_back(int M, float alpha, const float* dY, int ldy, const FrozenMatrix& W, float beta, float* dX,
                          int ldx) override {
    if (W.precision == Precision::Fp32) return Backend::frozen_matmul_back(M, alpha, dY, ldy, W, beta, dX, ldx);
    Guard g(*this);
    frozen_gemm(CUBLAS_OP_N, W.cols, M, W.rows, alpha, W, dY, ldy, beta, dX, ldx);
  }
  void frozen_read(const FrozenMatrix& W, float* out) override {
    if (W.precision != Precision::Bf16) return Backend::frozen_read(W, out);
    Guard g(*this);
    cuda::launch_widen_bf16(ctx_, static_cast<const uint16_t*>(W.data), (size_t)W.rows * W.cols, out);
  }

  // Row-major C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C. cuBLAS is column-major, and a
  // row-major [R,C] matrix with leading dimension ld is the column-major [C,R] matrix with the
  // same ld, so we compute C^T[N,M] = op(B)^T op(A)^T: swap the operands and M with N.
  // beta == 0 never reads C (cuBLAS semantics), so garbage in C cannot leak in.
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) override {
    if (M <= 0 || N <= 0) return;
    Guard g(*this);
    const cublasOperation_t op_a = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    check_blas(cublasSgemm(blas_, op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc), "cublasSgemm");
  }

  // Z[B,H] <- act(Z + bias[H])
  void bias_act(float* Z, const float* bias, int B, int H, Act act) override {
    Guard g(*this);
    cuda::launch_bias_act(ctx_, Z, bias, B, H, act);
  }

  // G[B,H] <- G * act'(A[B,H])
  void act_backward(float* G, const float* A, int B, int H, Act act) override {
    Guard g(*this);
    cuda::launch_act_backward(ctx_, G, A, B, H, act);
  }

  // out[H] = beta * out + sum_b G[b, :], fixed order (deterministic).
  void column_sum(const float* G, int B, int H, float beta, float* out) override {
    Guard g(*this);
    cuda::launch_column_sum(ctx_, G, B, H, beta, out);
  }

  // out[H] = beta*out + colsum(act'(A[B,H]) * (dZ[B,O] W[O,H])), fused (O <= 64).
  void small_fanout_backward(const float* dZ, const float* W, const float* A, int B, int O, int H, Act act, float beta,
                             float* out) override {
    Guard g(*this);
    cuda::launch_small_fanout_backward(ctx_, dZ, W, A, B, O, H, act, beta, out);
  }

  // Z[B,H] <- act(Z + bias); Y[B,O] = Z W^T + c in one pass over Z (O <= 16).
  void bias_act_readout(float* Z, const float* bias, Act act, const float* W, const float* c, int B, int H, int O,
                        float* Y) override {
    Guard g(*this);
    float* partial = static_cast<float*>(scratch(cuda::bias_act_readout_scratch_floats(B, H, O) * sizeof(float)));
    cuda::launch_bias_act_readout(ctx_, Z, bias, act, W, c, B, H, O, Y, partial);
  }

  // logits[B,O], labels[B] -> dlogits[B,O], stats[2].
  void softmax_xent(const float* logits, const int32_t* labels, int B, int O, float scale, float* dlogits,
                    float* stats) override {
    Guard g(*this);
    row_loss_stats(B, O, true, stats, [&](double* row_loss, int32_t* row_hit) {
      cuda::launch_softmax_xent_rows(ctx_, logits, labels, B, O, scale, dlogits, row_loss, row_hit);
    });
  }

  // Y[B,O], T[B,O] -> dY[B,O] (optional), stats[2] with stats[1] = 0.
  void mse(const float* Y, const float* T, int B, int O, float scale, float* dY, float* stats) override {
    Guard g(*this);
    row_loss_stats(B, O, false, stats,
                   [&](double* row_loss, int32_t*) { cuda::launch_mse_rows(ctx_, Y, T, B, O, scale, dY, row_loss); });
  }

  // dst[B,D] = src[idx[b], :]
  void gather_rows(const float* src, const int32_t* idx, int B, int D, float* dst) override {
    Guard g(*this);
    cuda::launch_gather_rows(ctx_, src, idx, B, D, dst);
  }

  void gather_labels(const int32_t* src, const int32_t* idx, int B, int32_t* dst) override {
    Guard g(*this);
    cuda::launch_gather_labels(ctx_, src, idx, B, dst);
  }

  void adam(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2, float eps, float wd,
            float bc1, float bc2) override {
    Guard guard(*this);
    // As the CPU: step and 1/sqrt(bc2) in float on the host.
    const float step = lr / bc1, inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
    cuda::launch_adam(ctx_, p, g, m, v, n, step, b1, b2, eps, wd, inv_sqrt_bc2);
  }

  void sgd(float* p, const float* g, float* vel, size_t n, float lr, float mu, bool nesterov, float wd) override {
    Guard guard(*this);
    cuda::launch_sgd(ctx_, p, g, vel, n, lr, mu, nesterov, wd);
  }

  // ---- multi-task extensions (cuda_multitask.cu; shapes and contracts in backend.h) ----
  // The per-task reductions group the rows by task first (group_rows: one block, in scratch),
  // then give every task its own blocks that sum its rows in order: deterministic, no atomics.

  // Z[B,H] <- act(Z + biases[task[b], :])
  void bias_act_gather(float* Z, const float* biases, const int32_t* task, int B, int H, int K, Act act) override {
    (void)K;
    Guard g(*this);
    cuda::launch_bias_act_gather(ctx_, Z, biases, task, B, H, act);
  }

  // out[K,H] = per task, the sum of its rows of G[B,H] (zeros for a task without rows); task k's
  // row is bit-identical to column_sum over that task's rows alone.
  void column_sum_scatter(const float* G, const int32_t* task, int B, int H, int K, float* out) override {
    if (H <= 0 || K <= 0) return;
    Guard g(*this);
    const RowGroups groups = group_rows(task, B, K);
    cuda::launch_segment_column_sum(ctx_, G, groups.rows, groups.offsets, B, H, K, 1.0f, 0.0f, out);
  }

  // logits[B,R] -> dlogits[B,R], stats[K,2]: per-row losses and hits to scratch, then one block
  // per task sums its rows in a fixed order.
  void softmax_xent_task(const float* logits, const int32_t* labels, const int32_t* task, const int32_t* off,
                         const int32_t* classes, int B, int R, int K, float scale, float* dlogits,
                         float* stats) override {
    if (K <= 0) return;
    Guard g(*this);
    if (B <= 0 || R <= 0) {
      cuda::launch_task_stats(ctx_, nullptr, nullptr, nullptr, 0, K, stats);
      return;
    }
    double* row_loss = nullptr;
    int32_t* row_hit = nullptr;
    row_scratch(B, &row_loss, &row_hit);
    cuda::launch_softmax_xent_task_rows(ctx_, logits, labels, task, off, classes, B, R, scale, dlogits, row_loss,
                                        row_hit);
    cuda::launch_task_stats(ctx_, row_loss, row_hit, task, B, K, stats);
  }

  void task_gates(const float* theta, size_t n, float slope, bool hard, float* gates) override {
    Guard g(*this);
    cuda::launch_task_gates(ctx_, theta, n, slope, hard, gates);
  }

  // A[B,H] = U * gates[task[b], :] (A may alias U)
  void gate_rows(const float* U, const float* gates, const int32_t* task, int B, int H, float* A) override {
    Guard g(*this);
    cuda::launch_gate_rows(ctx_, U, gates, task, B, H, A);
  }

  // dtheta[K,H] (per-task sums in row order) and dU[B,H] (may alias dA) in one pass.
  void gate_backward(const float* dA, const float* U, const float* gates, const int32_t* task, int B, int H, int K,
                     float slope, float* dtheta, float* dU) override {
    if (H <= 0 || K <= 0) return;
    Guard g(*this);
    const RowGroups groups = group_rows(task, B, K);
    cuda::launch_gate_backward(ctx_, dA, U, gates, groups.rows, groups.offsets, B, H, K, slope, dtheta, dU);
  }

  // out[3,K,H] = per-task sums (double), sums of squares (double) and counts.
  void task_moments(const float* A, const int32_t* task, const float* shift, int B, int H, int K, float threshold,
                    float* out) override {
    if (H <= 0 || K <= 0) return;
    Guard g(*this);
    const RowGroups groups = group_rows(task, B, K);
    cuda::launch_task_moments(ctx_, A, shift, groups.rows, groups.offsets, B, H, K, threshold, out);
  }

  // ---- recurrent-network extensions (cuda_rnn.cu; shapes and contracts in backend.h) ----

  void gather_seq(const float* src, const int32_t* idx, int B, int T, int D, size_t row_stride, size_t offset,
                  float* dst) override {
    Guard g(*this);
    cuda::launch_gather_seq(ctx_, src, idx, B, T, D, row_stride, offset, dst);
  }

  void axpby(float* out, float a, const float* x, float b, const float* y, size_t n) override {
    Guard g(*this);
    cuda::launch_axpby(ctx_, out, a, x, b, y, n);
  }

  void energy_step(float* Z, float* U, const float* D, const float* D2, const float* F, const float* Wf, int Of,
                   const float* bias, const float* T, int B, int H, Act act, float eps, float beta,
                   float* delta) override {
    Guard g(*this);
    cuda::launch_energy_step(ctx_, Z, U, D, D2, F, Wf, Of, bias, T, B, H, act, eps, beta, delta);
  }

  void narrow_product(const float* A, const float* W, int B, int K, int O, float* C) override {
    Guard g(*this);
    cuda::launch_narrow_product(ctx_, A, W, B, K, O, C);
  }

  void adjoint_step(float* G, const float* U, const float* D, const float* C, int B, int H, Act act, float eps,
                    float* delta) override {
    Guard g(*this);
    cuda::launch_adjoint_step(ctx_, G, U, D, C, B, H, act, eps, delta);
  }

  void rnn_step(float* Z, const float* bias, const float* Rp, float* Rn, int B, int H, Act act, float decay,
                float gain) override {
    Guard g(*this);
    cuda::launch_rnn_step(ctx_, Z, bias, Rp, Rn, B, H, act, decay, gain);
  }

  void rnn_step_backward(float* Dr, const float* DYA, const float* Phi, float* dZ, int B, int H, Act act,
                         float gain) override {
    Guard g(*this);
    cuda::launch_rnn_step_backward(ctx_, Dr, DYA, Phi, dZ, B, H, act, gain);
  }

  // Per-row terms (double) to scratch, then one block sums them in a fixed order into stats[2].
  void seq_mse(const float* Y, const float* Yprev, const float* Tg, const float* w, const float* v, int Tw, int B,
               int O, float scale, float* dY, float* stats) override {
    Guard g(*this);
    if (Tw <= 0 || B <= 0) {
      cuda::launch_reduce_pair(ctx_, nullptr, nullptr, 0, stats);
      return;
    }
    const size_t n = static_cast<size_t>(Tw) * B;
    double* row_loss = static_cast<double*>(scratch(2 * n * sizeof(double)));
    double* row_sq = row_loss + n;
    cuda::launch_seq_mse_rows(ctx_, Y, Yprev, Tg, w, v, Tw, B, O, scale, dY, row_loss, row_sq);
    cuda::launch_reduce_pair(ctx_, row_loss, row_sq, n, stats);
  }

  // out[C,D] <- beta * out + per row c, the sum of alpha * src[b, :] over the rows with idx[b] == c
  // (in order). C == 1 (Rnn::column_total) needs no grouping pass.
  void scatter_add_rows(const float* src, const int32_t* idx, int B, int D, int C, float alpha, float beta,
                        float* out) override {
    if (C <= 0 || D <= 0) return;
    Guard g(*this);
    const RowGroups groups = group_rows(idx, B, C);
    cuda::launch_segment_column_sum(ctx_, src, groups.rows, groups.offsets, B, D, C, alpha, beta, out);
  }

  void column_dot(const float* A, const float* Bm, int rows, int H, float beta, float* out) override {
    Guard g(*this);
    cuda::launch_column_dot(ctx_, A, Bm, rows, H, beta, out);
  }

  void outer_trace(float* P, const float* D, const float* X, int B, int H, int K, float decay, float gain,
                   const float* jd, int jd_stride) override {
    Guard g(*this);
    cuda::launch_outer_trace(ctx_, P, D, X, B, H, K, decay, gain, jd, jd_stride);
  }

  void trace_grad(const float* P, const float* E, int B, int H, int K, float beta, float* G) override {
    Guard g(*this);
    cuda::launch_trace_grad(ctx_, P, E, B, H, K, beta, G);
  }

  // out[0] = sum x^2 (double, fixed order): partials in scratch, then one block.
  void sum_squares(const float* x, size_t n, float* out) override {
    Guard g(*this);
    double* parts = static_cast<double*>(scratch(cuda::sum_squares_parts(n) * sizeof(double)));
    cuda::launch_sum_squares(ctx_, x, n, parts, out);
  }

  void copy2d(float* dst, int ldd, const float* src, int lds, int rows, int cols) override {
    Guard g(*this);
    cuda::launch_copy2d(ctx_, dst, ldd, src, lds, rows, cols);
  }

 private:
  // Holds the backend's mutex and makes the backend's device current on this host thread
  // (libuv worker threads start with device 0 current, but another library may change it).
  class Guard {
   public:
    explicit Guard(CudaBackend& be) : lock_(be.mu_) { BL_CUDA_CHECK(cudaSetDevice(be.device_)); }

   private:
    std::lock_guard<std::mutex> lock_;
  };

  // Grow-only device scratch of at least `bytes`. Call with the mutex held. Growing waits for
  // the stream first, so no queued kernel still uses the old block when it is freed.
  void* scratch(size_t bytes) {
    if (bytes <= scratch_bytes_) return scratch_;
    size_t want = scratch_bytes_ ? scratch_bytes_ : 4096;
    while (want < bytes) want *= 2;
    if (scratch_) {
      BL_CUDA_CHECK(cudaStreamSynchronize(stream_));
      BL_CUDA_CHECK(cudaFree(scratch_));
      scratch_ = nullptr;
      scratch_bytes_ = 0;
    }
    cuda::check_cuda(cudaMalloc(&scratch_, want), "cudaMalloc",
                     "allocating " + std::to_string(want) + " bytes of scratch");
    scratch_bytes_ = want;
    return scratch_;
  }

  // Scratch laid out as row_loss[B] (double) then row_hit[B] (int32).
  void row_scratch(int B, double** row_loss, int32_t** row_hit) {
    const size_t n = static_cast<size_t>(B);
    char* base = static_cast<char*>(scratch(n * sizeof(double) + n * sizeof(int32_t)));
    *row_loss = reinterpret_cast<double*>(base);
    *row_hit = reinterpret_cast<int32_t*>(base + n * sizeof(double));
  }

  // The per-row losses of [B,O] into stats[2]: rows(row_loss, row_hit) fills row_loss[B] (and
  // row_hit[B] when `hits`; stats[1] = 0 otherwise) in scratch, then one block sums them in a fixed
  // order (no float atomics: deterministic). B or O <= 0 writes zeros. Call with the mutex held.
  template <typename Rows>
  void row_loss_stats(int B, int O, bool hits, float* stats, Rows&& rows) {
    if (B <= 0 || O <= 0) {
      cuda::launch_reduce_stats(ctx_, nullptr, nullptr, 0, stats);
      return;
    }
    double* row_loss = nullptr;
    int32_t* row_hit = nullptr;
    row_scratch(B, &row_loss, &row_hit);
    rows(row_loss, row_hit);
    cuda::launch_reduce_stats(ctx_, row_loss, hits ? row_hit : nullptr, B, stats);
  }

  // Groups the rows 0 .. B-1 by key[b] in [0, K) for the per-group reductions: a stable counting
  // sort into scratch laid out as rows[B], offsets[K + 1], cursor[K] (int32). K == 1, or no rows,
  // needs no pass: rows = offsets = nullptr then tells the kernels that group 0 is rows 0 .. B-1
  // in order. Call with the mutex held; the scratch is valid until the next scratch() call.
  struct RowGroups {
    const int32_t* rows = nullptr;
    const int32_t* offsets = nullptr;
  };
  RowGroups group_rows(const int32_t* key, int B, int K) {
    if (K <= 1 || B <= 0) return {};
    const size_t nb = static_cast<size_t>(B), nk = static_cast<size_t>(K);
    int32_t* base = static_cast<int32_t*>(scratch((nb + 2 * nk + 1) * sizeof(int32_t)));
    int32_t* r = base;
    int32_t* off = base + nb;
    int32_t* cursor = off + nk + 1;
    cuda::launch_partition_rows(ctx_, key, B, K, off, cursor, r);
    return {r, off};
  }

  // Frees what the constructor created; ignores errors (also runs while unwinding).
  void destroy() noexcept {
    (void)cudaSetDevice(device_);
    if (scratch_) (void)cudaFree(scratch_);
    if (blas_) (void)cublasDestroy(blas_);
    if (blas_workspace_) (void)cudaFree(blas_workspace_);
    blas_workspace_ = nullptr;
    if (stream_) (void)cudaStreamDestroy(stream_);
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    blas_ = nullptr;
    stream_ = nullptr;
    (void)cudaGetLastError();
  }

  std::mutex mu_;
  int device_ = 0;
  bool tf32_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  void* blas_workspace_ = nullptr;
  size_t blas_workspace_bytes_ = 0;
  cuda::LaunchCtx ctx_;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
};

}  // namespace

// One backend per process, created on first use. It is deliberately never destroyed: models
// and datasets freed by the JS garbage collector may still release device memory while the
// process exits, and CUDA objects must not be torn down from static destructors (the CUDA
// runtime may already be unloading). A failed creation is retried on the next call and throws
// E_BACKEND_UNAVAILABLE (no driver, no device, no kernel image) each time.
std::shared_ptr<Backend> make_cuda_backend() {
  static std::mutex init_mu;
  static std::shared_ptr<Backend>* instance = nullptr;
  std::lock_guard<std::mutex> lock(init_mu);
  if (instance == nullptr) instance = new std::shared_ptr<Backend>(CudaBackend::create());
  return *instance;
}

}  // namespace bl
