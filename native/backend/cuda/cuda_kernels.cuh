// Host-side launchers for the CUDA backend's own kernels (cuda_kernels.cu, cuda_weights.cu).
// Each launcher enqueues on `ctx.stream`, returns without synchronising and throws E_NATIVE if
// the launch itself fails. The formulas are those of the CPU loops in cpu/cpu_backend.cpp;
// shapes as in backend/backend.h (B batch, H hidden, O outputs, N dataset rows, D row width).
// Every launcher is a no-op for empty shapes (a zero-sized grid is a launch error in CUDA).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../../common/types.h"

namespace bl {
namespace cuda {

struct LaunchCtx {
  cudaStream_t stream = nullptr;
  int max_blocks = 1024;  // cap on grid-stride grids (a multiple of the SM count)
};

// dst[n] = value
void launch_fill(const LaunchCtx& ctx, float* dst, float value, size_t n);

// W[rows, cols] = sample_weight(seed, stream, r, c, dist, a); bit-identical to the CPU
// (cuda_weights.cu, compiled with -fmad=false).
void launch_fill_weights(const LaunchCtx& ctx, float* W, int rows, int cols, uint64_t seed, uint32_t stream,
                         Dist dist, double a);
// cudaSuccess when this module holds a kernel image the current device can run.
cudaError_t probe_kernel_image();

// Z[B,H] <- act(Z + bias[H])
void launch_bias_act(const LaunchCtx& ctx, float* Z, const float* bias, int B, int H, Act act);
// G[B,H] <- G * act'(A) with A[B,H] the activation's output.
void launch_act_backward(const LaunchCtx& ctx, float* G, const float* A, int B, int H, Act act);
// out[H] = beta * out + sum_b G[b, :]; fixed reduction order (deterministic, no float atomics).
void launch_column_sum(const LaunchCtx& ctx, const float* G, int B, int H, float beta, float* out);

// out[H] = beta*out + sum_b act'(A[b,:]) * (dZ[B,O] W[O,H])[b,:], O <= 64 (cuda_fused.cu).
void launch_small_fanout_backward(const LaunchCtx& ctx, const float* dZ, const float* W, const float* A, int B, int O,
                                  int H, Act act, float beta, float* out);

// Per row b of logits[B,O]: row_loss[b] = logsumexp - z[y] (double), row_hit[b] = argmax == y
// (lowest index among ties), dlogits[B,O] = scale * (softmax - onehot) (may alias logits).
void launch_softmax_xent_rows(const LaunchCtx& ctx, const float* logits, const int32_t* labels, int B, int O,
                              float scale, float* dlogits, double* row_loss, int32_t* row_hit);
// Per row b of Y[B,O], T[B,O]: row_loss[b] = sum_o (Y-T)^2 / O (double); dY = scale*2(Y-T)/O
// when dY is not null.
void launch_mse_rows(const LaunchCtx& ctx, const float* Y, const float* T, int B, int O, float scale, float* dY,
                     double* row_loss);
// stats[0] = (float) sum_b row_loss[b], stats[1] = sum_b row_hit[b] (0 when row_hit is null).
// One block, fixed order: deterministic.
void launch_reduce_stats(const LaunchCtx& ctx, const double* row_loss, const int32_t* row_hit, int B, float* stats);

// dst[B,D] = src[idx[b], :]
void launch_gather_rows(const LaunchCtx& ctx, const float* src, const int32_t* idx, int B, int D, float* dst);
// dst[B] = src[idx[b]]
void launch_gather_labels(const LaunchCtx& ctx, const int32_t* src, const int32_t* idx, int B, int32_t* dst);

// Adam with step = lr / bc1 and inv_sqrt_bc2 = 1 / sqrt(bc2) precomputed on the host (as the CPU).
void launch_adam(const LaunchCtx& ctx, float* p, const float* g, float* m, float* v, size_t n, float step,
                 float beta1, float beta2, float eps, float weight_decay, float inv_sqrt_bc2);
// SGD (momentum 0: plain; vel may then be null).
void launch_sgd(const LaunchCtx& ctx, float* p, const float* g, float* vel, size_t n, float lr, float momentum,
                bool nesterov, float weight_decay);

}  // namespace cuda
}  // namespace bl
