// Host-side launchers for the CUDA backend's own kernels (cuda_kernels.cu, cuda_weights.cu,
// cuda_fused.cu, and the extension kernels in cuda_segments.cu, cuda_multitask.cu, cuda_rnn.cu).
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
void launch_fill_weights(const LaunchCtx& ctx, float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist,
                         double a);
// cudaSuccess when this module holds a kernel image the current device can run.
cudaError_t probe_kernel_image();

// Z[B,H] <- act(Z + bias[H])
// ---- frozen matrices in bf16 (cuda_frozen.cu): x <- bf16 value; W[rows, cols] bf16 generated;
// out[rows, cols] bf16 = X (row stride ld) rounded; out[n] = W widened.
void launch_round_bf16(const LaunchCtx& ctx, float* x, size_t n);
void launch_fill_bf16(const LaunchCtx& ctx, uint16_t* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist,
                      double a);
void launch_to_bf16(const LaunchCtx& ctx, const float* X, int rows, int cols, int ld, uint16_t* out);
void launch_widen_bf16(const LaunchCtx& ctx, const uint16_t* W, size_t n, float* out);

void launch_bias_act(const LaunchCtx& ctx, float* Z, const float* bias, int B, int H, Act act);
// G[B,H] <- G * act'(A) with A[B,H] the activation's output.
void launch_act_backward(const LaunchCtx& ctx, float* G, const float* A, int B, int H, Act act);
// out[H] = beta * out + sum_b G[b, :]; fixed reduction order (deterministic, no float atomics).
void launch_column_sum(const LaunchCtx& ctx, const float* G, int B, int H, float beta, float* out);

// Fan-out limits of the fused readout kernels (W's columns live in registers / shared memory);
// CudaBackend::supports reports them.
constexpr int kSmallFanoutMaxOut = 64;
constexpr int kReadoutMaxOut = 16;

// out[H] = beta*out + sum_b act'(A[b,:]) * (dZ[B,O] W[O,H])[b,:], O <= kSmallFanoutMaxOut (cuda_fused.cu).
void launch_small_fanout_backward(const LaunchCtx& ctx, const float* dZ, const float* W, const float* A, int B, int O,
                                  int H, Act act, float beta, float* out);

// Z[B,H] <- act(Z + bias); Y[B,O] = Z W^T + c, O <= kReadoutMaxOut (cuda_fused.cu). `scratch` holds
// bias_act_readout_scratch_floats(B, H, O) floats of per-tile partial sums.
size_t bias_act_readout_scratch_floats(int B, int H, int O);
void launch_bias_act_readout(const LaunchCtx& ctx, float* Z, const float* bias, Act act, const float* W, const float* c,
                             int B, int H, int O, float* Y, float* scratch);

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
void launch_adam(const LaunchCtx& ctx, float* p, const float* g, float* m, float* v, size_t n, float step, float beta1,
                 float beta2, float eps, float weight_decay, float inv_sqrt_bc2);
// SGD (momentum 0: plain; vel may then be null).
void launch_sgd(const LaunchCtx& ctx, float* p, const float* g, float* vel, size_t n, float lr, float momentum,
                bool nesterov, float weight_decay);

// ---------------------------------------------------------------- rows grouped by a key
// (cuda_segments.cu). K groups, key[B] int32 in [0, K) (task ids, condition indices; a key
// outside [0, K) is skipped).
//
// Stable counting sort of the rows by key, one block: rows[B] lists group 0's rows in order, then
// group 1's, ...; group k is rows[offsets[k] .. offsets[k+1]) (offsets has K + 1 entries).
// cursor[K] is device scratch (used when K is too large for shared memory). Deterministic: the
// order within a group is the row order whatever the schedule (integer counts only; no float
// atomics).
void launch_partition_rows(const LaunchCtx& ctx, const int32_t* key, int B, int K, int32_t* offsets, int32_t* cursor,
                           int32_t* rows);
// out[k, :] = (beta == 0 ? 0 : beta * out[k, :]) + sum over group k's rows b (in order) of
// alpha * src[b, :], for src[B,D], out[K,D]. A group without rows gets beta * out (0 for beta 0).
// rows/offsets from launch_partition_rows, or both null: group 0 is rows 0 .. B-1, the other
// groups are empty (K == 1, or B == 0). Per column: 32 row lanes, lane j sums the group's rows j,
// j + 32, ... in order, then a fixed tree, exactly as launch_column_sum: with alpha 1 and beta 0,
// group k's row is bit-identical to column_sum over group k's rows alone.
void launch_segment_column_sum(const LaunchCtx& ctx, const float* src, const int32_t* rows, const int32_t* offsets,
                               int B, int D, int K, float alpha, float beta, float* out);

// ---------------------------------------------------------------- multi-task (cuda_multitask.cu)
// K tasks, task[B] int32 in [0, K); per-task tensors [K, H] row-major.

// Z[B,H] <- act(Z + biases[task[b], :])
void launch_bias_act_gather(const LaunchCtx& ctx, float* Z, const float* biases, const int32_t* task, int B, int H,
                            Act act);
// Per row b of logits[B,R] (task t = task[b], columns [off[t], off[t] + classes[t])):
// row_loss[b] = logsumexp - z[y] (double), row_hit[b] = argmax == y (lowest index among ties),
// dlogits[b, :] = scale * (softmax - onehot) on the task's columns and 0 elsewhere (may alias
// logits).
void launch_softmax_xent_task_rows(const LaunchCtx& ctx, const float* logits, const int32_t* labels,
                                   const int32_t* task, const int32_t* off, const int32_t* classes, int B, int R,
                                   float scale, float* dlogits, double* row_loss, int32_t* row_hit);
// stats[K,2] = per task (float(sum of row_loss), sum of row_hit) over the rows with task[b] == k;
// one block per task, fixed order. B == 0 (null pointers allowed) writes zeros.
void launch_task_stats(const LaunchCtx& ctx, const double* row_loss, const int32_t* row_hit, const int32_t* task, int B,
                       int K, float* stats);
// gates[n] = hard ? (theta > 0 ? 1 : 0) : 1 / (1 + expf(-slope * theta))
void launch_task_gates(const LaunchCtx& ctx, const float* theta, size_t n, float slope, bool hard, float* gates);
// A[B,H] = U * gates[task[b], :] (A may alias U)
void launch_gate_rows(const LaunchCtx& ctx, const float* U, const float* gates, const int32_t* task, int B, int H,
                      float* A);
// dtheta[K,H] = (sum over task k's rows, in order, of dA * U) * (slope * g * (1 - g)) and
// dU[B,H] = dA * gates[task[b], :] (dU may alias dA), in one pass; groups as in
// launch_segment_column_sum (rows/offsets from launch_partition_rows over task, or null).
void launch_gate_backward(const LaunchCtx& ctx, const float* dA, const float* U, const float* gates,
                          const int32_t* rows, const int32_t* offsets, int B, int H, int K, float slope, float* dtheta,
                          float* dU);
// out[3,K,H] = per task (sum (A - shift), sum (A - shift)^2, count(A > threshold)) in double
// (counts exact); shift[K,H] may be null (zeros). Groups as in launch_gate_backward.
void launch_task_moments(const LaunchCtx& ctx, const float* A, const float* shift, const int32_t* rows,
                         const int32_t* offsets, int B, int H, int K, float threshold, float* out);

// ---------------------------------------------------------------- recurrent networks (cuda_rnn.cu)
// Time-major activations [T, B, D].

// dst[t, b, :] = src[idx[b] * row_stride + offset + t * D + (0 .. D)]
void launch_gather_seq(const LaunchCtx& ctx, const float* src, const int32_t* idx, int B, int T, int D,
                       size_t row_stride, size_t offset, float* dst);
// out[n] = a * x + b * y (y null or b == 0: a * x); out may alias x or y.
void launch_axpby(const LaunchCtx& ctx, float* out, float a, const float* x, float b, const float* y, size_t n);
// Z[B,H] <- act(Z + bias[H]) (tanh: the CPU's rational tanh), Rn = decay * Rp + gain * Z
// (Rn may alias Rp, not Z).
void launch_rnn_step(const LaunchCtx& ctx, float* Z, const float* bias, const float* Rp, float* Rn, int B, int H,
                     Act act, float decay, float gain);
// Dr[B,H] += DYA (when not null); dZ = gain * Dr * act'(Phi) (dZ may alias DYA, not Dr).
void launch_rnn_step_backward(const LaunchCtx& ctx, float* Dr, const float* DYA, const float* Phi, float* dZ, int B,
                              int H, Act act, float gain);
// One thread per row r = t * B + b of Y[Tw,B,O]: the row's terms of seq_mse (backend.h) in double:
// row_loss[r] = (weighted squared error + velocity penalty) / O, row_sq[r] = squared error / O,
// and dY[r, :] = scale * d loss / dY (dY may be null; must not alias Y).
void launch_seq_mse_rows(const LaunchCtx& ctx, const float* Y, const float* Yprev, const float* Tg, const float* w,
                         const float* v, int Tw, int B, int O, float scale, float* dY, double* row_loss,
                         double* row_sq);
// stats[0] = float(sum a[0..n)), stats[1] = float(sum b[0..n)); one block, fixed order. n == 0
// writes zeros.
void launch_reduce_pair(const LaunchCtx& ctx, const double* a, const double* b, size_t n, float* stats);
// out[H] = beta * out + sum_r A[r,h] * Bm[r,h]; 32 row lanes per column, fixed tree.
void launch_column_dot(const LaunchCtx& ctx, const float* A, const float* Bm, int rows, int H, float beta, float* out);
// P[B,H,K] = d * P + (gain * D[b,h]) * X[b,k], d = decay (+ gain * D[b,h] * jd[h * jd_stride] when jd)
void launch_outer_trace(const LaunchCtx& ctx, float* P, const float* D, const float* X, int B, int H, int K,
                        float decay, float gain, const float* jd, int jd_stride);
// G[H,K] = beta * G + sum_b E[b,h] * P[b,h,k]: one thread per output, b in order (the CPU's order).
void launch_trace_grad(const LaunchCtx& ctx, const float* P, const float* E, int B, int H, int K, float beta, float* G);
// Number of double partials launch_sum_squares needs for n elements (>= 1; depends on n only).
size_t sum_squares_parts(size_t n);
// out[0] = float(sum x^2) in double: fixed blocks write parts[sum_squares_parts(n)], then one block
// sums them in a fixed tree (the order depends on n only).
void launch_sum_squares(const LaunchCtx& ctx, const float* x, size_t n, double* parts, float* out);
// dst[r, 0:cols] = src[r, 0:cols], leading dimensions ldd, lds (elements); no overlap.
void launch_copy2d(const LaunchCtx& ctx, float* dst, int ldd, const float* src, int lds, int rows, int cols);

// ---------------------------------------------------------------- energy networks (cuda_energy.cu)
// The contracts of backend.h's energy_step / adjoint_step; delta (null: none) is zeroed on the
// stream, then every block folds its max in with an atomic max on the float's bits (values >= 0).
void launch_energy_step(const LaunchCtx& ctx, float* Z, float* U, const float* D, const float* D2, const float* F,
                        const float* Wf, int Of, const float* bias, const float* T, int B, int H, Act act, float eps,
                        float beta, float* delta);
void launch_adjoint_step(const LaunchCtx& ctx, float* G, const float* U, const float* D, const float* C, int B, int H,
                         Act act, float eps, float* delta);
// C[B,O] = A[B,K] W[O,K]^T, one warp per output (lanes stride K, a shuffle tree folds them).
void launch_narrow_product(const LaunchCtx& ctx, const float* A, const float* W, int B, int K, int O, float* C);

}  // namespace cuda
}  // namespace bl
