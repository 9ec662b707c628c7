// The multi-task extension kernels (backend.h, "multi-task"; native/multitask) on CUDA. The CPU
// loops in cpu/cpu_backend.cpp are the spec: same formulas (common/activation.h, double
// log-sum-exp, double moments), same argmax tie rule. The per-task reductions (dtheta, moments)
// use the row groups of cuda_segments.cu: each task's rows in order, 32 row lanes and a fixed
// tree, so a run repeats bit for bit; the per-task loss sums add per-row values in a fixed order.
//
// Shapes: B batch, H width of a layer, K tasks, R readout width. task[B] int32 in [0, K)
// (validated by the caller); per-task tensors [K, H] row-major.
#include <cuda_runtime.h>

#include "../../common/activation.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// Block shapes, grids (blocks_1d, grid_2d, grid_column_tiles: column tiles x tasks), group_range
// (task k's rows) and the fixed-order reductions: cuda_common.cuh.

// ---------------------------------------------------------------- elementwise

// Z[B,H] <- act(Z + biases[task[b], :]); blockIdx.y strides rows, x threads cover columns.
template <Act A>
__global__ void bias_act_gather_kernel(float* __restrict__ Z, const float* __restrict__ biases,
                                       const int32_t* __restrict__ task, int B, int H) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    float* z = Z + static_cast<size_t>(b) * H;
    const float* bias = biases + static_cast<size_t>(task[b]) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x)
      z[h] = ActFn<A>::forward(z[h] + bias[h]);
  }
}

// gates[n] = hard ? step(theta) : sigmoid(slope * theta), as CpuBackend::task_gates.
__global__ void task_gates_kernel(const float* __restrict__ theta, size_t n, float slope, bool hard,
                                  float* __restrict__ gates) {
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const float t = theta[i];
    gates[i] = hard ? (t > 0.0f ? 1.0f : 0.0f) : ActFn<Act::Sigmoid>::forward(slope * t);
  }
}

// A[B,H] = U * gates[task[b], :]; A may alias U (each element read and written by one thread).
__global__ void gate_rows_kernel(const float* U, const float* __restrict__ gates, const int32_t* __restrict__ task,
                                 int B, int H, float* A) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    const size_t row = static_cast<size_t>(b) * H;
    const float* g = gates + static_cast<size_t>(task[b]) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x)
      A[row + h] = U[row + h] * g[h];
  }
}

// ---------------------------------------------------------------- softmax cross-entropy per task

// One warp per row b of logits[B,R]; the task's columns [o0, o0 + O). The argmax keeps the lowest
// index among equal maxima (the CPU's strict `>` scan); log-sum-exp in double. dlogits may alias
// logits: every lane has read all it needs (max, z[y], the sum) before warp_sum's shuffles
// complete; afterwards lane (c % 32) reads and writes column c alone, and the zeros go to
// columns nobody reads.
__global__ void softmax_xent_task_rows_kernel(const float* logits, const int32_t* __restrict__ labels,
                                              const int32_t* __restrict__ task, const int32_t* __restrict__ off,
                                              const int32_t* __restrict__ classes, int B, int R, float scale,
                                              float* dlogits, double* __restrict__ row_loss,
                                              int32_t* __restrict__ row_hit) {
  const int lane = threadIdx.x % kWarp;
  const int b = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  if (b >= B) return;  // whole warp: b is uniform across it
  const int t = task[b], o0 = off[t], O = classes[t];
  const float* z = logits + static_cast<size_t>(b) * R + o0;
  float* d = dlogits + static_cast<size_t>(b) * R;
  const WarpArgmax best = warp_argmax(z, O, lane);
  const int y = labels[b];
  double dmx;
  const double inv = softmax_xent_row_loss(z, O, best.mx, best.arg, y, lane, b, row_loss, row_hit, &dmx);
  const double dscale = static_cast<double>(scale);
  for (int c = lane; c < R; c += kWarp) {
    const int o = c - o0;
    if (o >= 0 && o < O) {
      const double p = exp(static_cast<double>(z[o]) - dmx) * inv;
      d[c] = static_cast<float>(dscale * (p - (o == y ? 1.0 : 0.0)));
    } else {
      d[c] = 0.0f;
    }
  }
}

// stats[2k] = float(sum row_loss), stats[2k+1] = sum row_hit over the rows of task k. One block
// per task (strided): thread i takes rows i, i + 256, ... in order, then a fixed tree.
__global__ void task_stats_kernel(const double* __restrict__ row_loss, const int32_t* __restrict__ row_hit,
                                  const int32_t* __restrict__ task, int B, int K, float* __restrict__ stats) {
  __shared__ double sl[kReduceThreads];
  __shared__ long long sh[kReduceThreads];
  const int i = threadIdx.x;
  for (int k = blockIdx.x; k < K; k += gridDim.x) {
    double l = 0.0;
    long long h = 0;
    for (int b = i; b < B; b += kReduceThreads)
      if (task[b] == k) {
        l += row_loss[b];
        h += row_hit[b];
      }
    block_sum_pair(sl, sh, i, l, h, stats + 2 * static_cast<size_t>(k));
    __syncthreads();
  }
}

// ---------------------------------------------------------------- per-task reductions

// Block (kColTile, kRowLanes) per (column tile, task k): lane ty walks task k's rows ty, ty + 32,
// ... in order. For each row: acc += dA * U and dU = dA * g[k] (the same thread reads dA and
// writes dU of an element, so dU may alias dA). Then a fixed tree and
// dtheta[k, h] = acc * (slope * g (1 - g)), as the CPU.
__global__ void gate_backward_kernel(const float* dA, const float* __restrict__ U, const float* __restrict__ gates,
                                     const int32_t* __restrict__ rows, const int32_t* __restrict__ offsets, int B,
                                     int H, int K, float slope, float* __restrict__ dtheta, float* dU) {
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  for (int k = blockIdx.y; k < K; k += gridDim.y) {
    const GroupRange grp = group_range(offsets, k, B);
    const float g = col < H ? gates[static_cast<size_t>(k) * H + col] : 0.0f;
    float acc = 0.0f;
    if (col < H)
      for (int r = grp.begin + ty; r < grp.end; r += kRowLanes) {
        const size_t i = static_cast<size_t>(rows ? rows[r] : r) * H + col;
        const float d = dA[i];
        acc += d * U[i];
        dU[i] = d * g;
      }
    part[ty][tx] = acc;
    row_lanes_tree_sum(part, tx, ty);
    if (ty == 0 && col < H) dtheta[static_cast<size_t>(k) * H + col] = part[0][tx] * (slope * g * (1.0f - g));
    __syncthreads();
  }
}

// Per-task moments, layout as gate_backward_kernel: v = double(A) - double(shift[k, h]);
// sums of v and v^2 in double, count of A > threshold as an integer.
__global__ void task_moments_kernel(const float* __restrict__ A, const float* __restrict__ shift,
                                    const int32_t* __restrict__ rows, const int32_t* __restrict__ offsets, int B, int H,
                                    int K, float threshold, float* __restrict__ out) {
  __shared__ double p1[kRowLanes][kColTile];
  __shared__ double p2[kRowLanes][kColTile];
  __shared__ int pc[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  const size_t KH = static_cast<size_t>(K) * H;
  for (int k = blockIdx.y; k < K; k += gridDim.y) {
    const GroupRange grp = group_range(offsets, k, B);
    const size_t ki = static_cast<size_t>(k) * H + col;
    const double sh = (shift && col < H) ? static_cast<double>(shift[ki]) : 0.0;
    double s1 = 0.0, s2 = 0.0;
    int cnt = 0;
    if (col < H)
      for (int r = grp.begin + ty; r < grp.end; r += kRowLanes) {
        const float a = A[static_cast<size_t>(rows ? rows[r] : r) * H + col];
        const double v = static_cast<double>(a) - sh;
        s1 += v;
        s2 += v * v;
        cnt += a > threshold ? 1 : 0;
      }
    p1[ty][tx] = s1;
    p2[ty][tx] = s2;
    pc[ty][tx] = cnt;
    __syncthreads();
    for (int s = kRowLanes / 2; s > 0; s >>= 1) {
      if (ty < s) {
        p1[ty][tx] += p1[ty + s][tx];
        p2[ty][tx] += p2[ty + s][tx];
        pc[ty][tx] += pc[ty + s][tx];
      }
      __syncthreads();
    }
    if (ty == 0 && col < H) {
      out[ki] = static_cast<float>(p1[0][tx]);
      out[KH + ki] = static_cast<float>(p2[0][tx]);
      out[2 * KH + ki] = static_cast<float>(pc[0][tx]);
    }
    __syncthreads();
  }
}

}  // namespace

// ---------------------------------------------------------------- launchers

void launch_bias_act_gather(const LaunchCtx& ctx, float* Z, const float* biases, const int32_t* task, int B, int H,
                            Act act) {
  if (B <= 0 || H <= 0) return;
  const dim3 grid = grid_2d(ctx, B, H);
  dispatch_act(act, [&](auto tag) {
    bias_act_gather_kernel<decltype(tag)::value><<<grid, kThreads, 0, ctx.stream>>>(Z, biases, task, B, H);
  });
  BL_CUDA_LAUNCHED("bias_act_gather_kernel");
}

void launch_softmax_xent_task_rows(const LaunchCtx& ctx, const float* logits, const int32_t* labels,
                                   const int32_t* task, const int32_t* off, const int32_t* classes, int B, int R,
                                   float scale, float* dlogits, double* row_loss, int32_t* row_hit) {
  if (B <= 0 || R <= 0) return;
  const unsigned grid = static_cast<unsigned>((B + kRowsPerBlock - 1) / kRowsPerBlock);
  softmax_xent_task_rows_kernel<<<grid, kThreads, 0, ctx.stream>>>(logits, labels, task, off, classes, B, R, scale,
                                                                   dlogits, row_loss, row_hit);
  BL_CUDA_LAUNCHED("softmax_xent_task_rows_kernel");
}

void launch_task_stats(const LaunchCtx& ctx, const double* row_loss, const int32_t* row_hit, const int32_t* task, int B,
                       int K, float* stats) {
  if (K <= 0) return;
  const unsigned grid = static_cast<unsigned>(K < ctx.max_blocks ? K : ctx.max_blocks);
  task_stats_kernel<<<grid, kReduceThreads, 0, ctx.stream>>>(row_loss, row_hit, task, B < 0 ? 0 : B, K, stats);
  BL_CUDA_LAUNCHED("task_stats_kernel");
}

void launch_task_gates(const LaunchCtx& ctx, const float* theta, size_t n, float slope, bool hard, float* gates) {
  if (n == 0) return;
  task_gates_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(theta, n, slope, hard, gates);
  BL_CUDA_LAUNCHED("task_gates_kernel");
}

void launch_gate_rows(const LaunchCtx& ctx, const float* U, const float* gates, const int32_t* task, int B, int H,
                      float* A) {
  if (B <= 0 || H <= 0) return;
  gate_rows_kernel<<<grid_2d(ctx, B, H), kThreads, 0, ctx.stream>>>(U, gates, task, B, H, A);
  BL_CUDA_LAUNCHED("gate_rows_kernel");
}

void launch_gate_backward(const LaunchCtx& ctx, const float* dA, const float* U, const float* gates,
                          const int32_t* rows, const int32_t* offsets, int B, int H, int K, float slope, float* dtheta,
                          float* dU) {
  if (H <= 0 || K <= 0) return;
  const dim3 block(kColTile, kRowLanes);
  gate_backward_kernel<<<grid_column_tiles(H, K), block, 0, ctx.stream>>>(dA, U, gates, rows, offsets, B < 0 ? 0 : B, H,
                                                                          K, slope, dtheta, dU);
  BL_CUDA_LAUNCHED("gate_backward_kernel");
}

void launch_task_moments(const LaunchCtx& ctx, const float* A, const float* shift, const int32_t* rows,
                         const int32_t* offsets, int B, int H, int K, float threshold, float* out) {
  if (H <= 0 || K <= 0) return;
  const dim3 block(kColTile, kRowLanes);
  task_moments_kernel<<<grid_column_tiles(H, K), block, 0, ctx.stream>>>(A, shift, rows, offsets, B < 0 ? 0 : B, H, K,
                                                                         threshold, out);
  BL_CUDA_LAUNCHED("task_moments_kernel");
}

}  // namespace cuda
}  // namespace bl
