// Launch geometry and device helpers shared by the CUDA backend's kernel files (cuda_kernels.cu,
// cuda_fused.cu, cuda_weights.cu, cuda_segments.cu, cuda_multitask.cu, cuda_rnn.cu). Everything here
// is inline: each kernel file compiles its own copy (no relocatable device code), so a helper costs
// what the code it replaces cost. The reductions keep one fixed order that depends only on the
// shape, so a kernel that uses them repeats bit for bit on the same device.
#pragma once
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

constexpr int kThreads = 256;  // 1-D blocks (grid-stride loops, [rows, cols] grids)
constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;  // warp-per-row kernels: 8 rows per block
constexpr int kColTile = 32;                     // column reductions: columns per block (threadIdx.x)
constexpr int kRowLanes = 32;                    // column reductions: row lanes per block (threadIdx.y)
constexpr int kReduceThreads = 256;              // one-block reductions: threads per block

// ---------------------------------------------------------------- host: grids

// Grid of kThreads-blocks for a grid-stride loop over n elements (at most ctx.max_blocks).
inline unsigned blocks_1d(const LaunchCtx& ctx, size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < static_cast<size_t>(ctx.max_blocks) ? b : static_cast<size_t>(ctx.max_blocks));
}

// Grid of kThreads-blocks for [rows, cols]: x tiles the columns, y strides the rows (gx * gy <=
// ctx.max_blocks where gx allows, gy in [1, min(rows, 65535)]). rows, cols > 0.
inline dim3 grid_2d(const LaunchCtx& ctx, int rows, int cols) {
  int gx = (cols + kThreads - 1) / kThreads;
  if (gx > ctx.max_blocks) gx = ctx.max_blocks;
  int gy = ctx.max_blocks / gx;
  if (gy < 1) gy = 1;
  if (gy > rows) gy = rows;
  if (gy > 65535) gy = 65535;
  return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
}

// Grid of (kColTile, kRowLanes) blocks for the column reductions over [*, cols] into K groups:
// x = column tiles, y = groups (strided past 65535). K == 1: one row of tiles. cols, K > 0.
inline dim3 grid_column_tiles(int cols, int K = 1) {
  return dim3(static_cast<unsigned>((cols + kColTile - 1) / kColTile), static_cast<unsigned>(K < 65535 ? K : 65535));
}

// ---------------------------------------------------------------- device: indices

__device__ __forceinline__ size_t global_id() { return blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ size_t grid_stride() { return static_cast<size_t>(gridDim.x) * blockDim.x; }

// Group k's rows: rows[begin .. end) of a partition from launch_partition_rows, or, when offsets is
// null, rows 0 .. B-1 for group 0 and none for the others.
struct GroupRange {
  int begin;
  int end;
};
__device__ __forceinline__ GroupRange group_range(const int32_t* offsets, int k, int B) {
  GroupRange g;
  if (offsets) {
    g.begin = offsets[k];
    g.end = offsets[k + 1];
  } else {
    g.begin = 0;
    g.end = k == 0 ? B : 0;
  }
  return g;
}

// ---------------------------------------------------------------- device: fixed-order reductions

// Sum of v over the 32 lanes of a warp by a butterfly (xor 16, 8, 4, 2, 1); every lane gets the
// same value. All 32 lanes must call it.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = kWarp / 2; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Inclusive prefix sum over the 32 lanes of a warp (Hillis-Steele: shifts 1, 2, 4, 8, 16): lane l
// gets x[0] + ... + x[l]. Integer adds: exact whatever the order. All 32 lanes must call it.
__device__ __forceinline__ int warp_inclusive_scan(int x, int lane) {
  for (int o = 1; o < kWarp; o <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  return x;
}

// Lane l scans z[l], z[l + 32], ... of z[0..O), then a butterfly: every lane ends with mx = the
// row's maximum and arg = its lowest index among equal maxima (the CPU's strict `>` scan);
// mx = -inf and arg = INT_MAX when O == 0. All 32 lanes must call it.
struct WarpArgmax {
  float mx;
  int arg;
};
__device__ __forceinline__ WarpArgmax warp_argmax(const float* z, int O, int lane) {
  float mx = -INFINITY;
  int arg = INT_MAX;
  for (int o = lane; o < O; o += kWarp) {
    const float v = z[o];
    if (v > mx || (v == mx && o < arg)) {
      mx = v;
      arg = o;
    }
  }
  for (int off = kWarp / 2; off > 0; off >>= 1) {
    const float om = __shfl_xor_sync(0xffffffffu, mx, off);
    const int oa = __shfl_xor_sync(0xffffffffu, arg, off);
    if (om > mx || (om == mx && oa < arg)) {
      mx = om;
      arg = oa;
    }
  }
  return {mx, arg};
}

// The loss of a softmax cross-entropy row, one warp over z[0..O) with label y (row b), after
// warp_argmax gave mx and arg: log-sum-exp in double. Lane 0 writes row_loss[b] = log(sum) -
// (z[y] - mx) (NaN for y outside [0, O)) and row_hit[b] = (arg == y). Returns on every lane 1 / sum,
// and mx as a double in *dmx_out. When it returns every lane has read all it needs of z (the max,
// z[y], the sum) and the warp has passed a __syncwarp, so the caller may then overwrite z (dlogits
// aliasing logits), each lane only the elements o = lane, lane + 32, ... that it reads itself.
__device__ __forceinline__ double softmax_xent_row_loss(const float* z, int O, float mx, int arg, int y, int lane,
                                                        int b, double* row_loss, int32_t* row_hit, double* dmx_out) {
  const bool y_ok = y >= 0 && y < O;
  const double zy = y_ok ? static_cast<double>(z[y]) : NAN;
  const double dmx = static_cast<double>(mx);
  double sum = 0.0;
  for (int o = lane; o < O; o += kWarp) sum += exp(static_cast<double>(z[o]) - dmx);
  sum = warp_sum(sum);
  if (lane == 0) {
    row_loss[b] = log(sum) - (zy - dmx);
    row_hit[b] = arg == y ? 1 : 0;
  }
  __syncwarp();
  *dmx_out = dmx;
  return 1.0 / sum;
}

// Fixed tree over one block of N threads (N a power of two): s[0] = sum of s[0 .. N), pairs
// (t, t + s) for s = N/2, N/4, ..., 1. Thread t has written s[t]; every thread of the block must
// call it (it synchronises before and after each level).
template <int N, typename T>
__device__ __forceinline__ void block_tree_sum(T* s, int t) {
  __syncthreads();
  for (int k = N / 2; k > 0; k >>= 1) {
    if (t < k) s[t] += s[t + k];
    __syncthreads();
  }
}

// The same tree over two arrays at once (one __syncthreads per level for both).
template <int N, typename T, typename U>
__device__ __forceinline__ void block_tree_sum2(T* a, U* b, int t) {
  __syncthreads();
  for (int s = N / 2; s > 0; s >>= 1) {
    if (t < s) {
      a[t] += a[t + s];
      b[t] += b[t + s];
    }
    __syncthreads();
  }
}

// The end of a one-block pair of sums over kReduceThreads threads: thread t's partials a and b go
// to sa[t], sb[t], through block_tree_sum2, and thread 0 writes out[0] = float(sum of a), out[1] =
// float(sum of b). Every thread of the block must call it.
template <typename T, typename U>
__device__ __forceinline__ void block_sum_pair(T (&sa)[kReduceThreads], U (&sb)[kReduceThreads], int t, T a, U b,
                                               float* out) {
  sa[t] = a;
  sb[t] = b;
  block_tree_sum2<kReduceThreads>(sa, sb, t);
  if (t == 0) {
    out[0] = static_cast<float>(sa[0]);
    out[1] = static_cast<float>(sb[0]);
  }
}

// Column reductions in (kColTile, kRowLanes) blocks: thread (tx, ty) has written its row lane's
// partial sum of column tx to part[ty][tx]; a fixed tree over the lanes leaves the column's sum in
// part[0][tx] (the order depends only on the block shape). Every thread of the block must call it.
template <typename T>
__device__ __forceinline__ void row_lanes_tree_sum(T (&part)[kRowLanes][kColTile], int tx, int ty) {
  __syncthreads();
  for (int s = kRowLanes / 2; s > 0; s >>= 1) {
    if (ty < s) part[ty][tx] += part[ty + s][tx];
    __syncthreads();
  }
}

}  // namespace cuda
}  // namespace bl
