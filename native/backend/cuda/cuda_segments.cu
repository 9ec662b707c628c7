// Rows grouped by an integer key (a task id, a condition index): the deterministic replacement for
// the CPU's "for b in order: out[key[b]] += ..." loops. A one-block stable counting sort lists each
// group's rows in order; the reductions then give every group its own blocks and sum its rows in a
// fixed order (32 row lanes and a fixed tree, the order of launch_column_sum), so the work is
// O(B * D) whatever the number of groups, and no float atomics are involved.
//
// Shapes: B rows, K groups, D row width. key[B] int32 in [0, K); src[B,D], out[K,D] row-major.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// kWarp, the reductions' block (kColTile, kRowLanes), group_range and the fixed-order reductions:
// cuda_common.cuh.
constexpr int kPartThreads = 1024;                // the partition's one block
constexpr int kPartWarps = kPartThreads / kWarp;  // warp w owns the keys k with k % 32 == w
constexpr int kPartSharedKeys = 4096;             // cursors in shared memory up to this K
constexpr int kSmallKeys = 256;                   // the tiled partition: K up to this

// Stable counting sort of the rows 0 .. B-1 by key, in one block of kPartThreads threads, for
// any K (used above kSmallKeys). Every warp scans all keys in order (staged through shared memory a tile at a time) and
// handles only the keys it owns (k % 32 == warp), so each key's counter is touched by one warp only and its rows are
// placed in row order: within a warp, the lanes holding the same key are ranked by lane (ballot or match_any), across
// iterations by the running cursor. Pass 0 counts, an exclusive scan turns the counts into offsets, pass 1 places the
// rows.
__global__ void __launch_bounds__(kPartThreads)
    partition_rows_kernel(const int32_t* __restrict__ key, int B, int K, int32_t* __restrict__ offsets,
                          int32_t* __restrict__ cursor_global, int32_t* __restrict__ rows) {
  __shared__ int32_t cursor_shared[kPartSharedKeys];
  __shared__ int32_t tile[kPartThreads];
  __shared__ int32_t warp_total[kPartWarps];
  int32_t* cur = K <= kPartSharedKeys ? cursor_shared : cursor_global;
  const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
  const unsigned below = (1u << lane) - 1u;  // lanes before this one
  for (int k = tid; k < K; k += kPartThreads) cur[k] = 0;
  __syncthreads();

  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      // cur[k] holds count k: offsets[k] = cur[k] = exclusive prefix sum, offsets[K] = total.
      int carry = 0;
      for (int k0 = 0; k0 < K; k0 += kPartThreads) {
        const int k = k0 + tid;
        const int v = k < K ? cur[k] : 0;
        const int x = warp_inclusive_scan(v, lane);
        if (lane == kWarp - 1) warp_total[warp] = x;
        __syncthreads();
        if (warp == 0) { warp_total[lane] = warp_inclusive_scan(warp_total[lane], lane); }
        __syncthreads();
        const int excl = carry + (warp > 0 ? warp_total[warp - 1] : 0) + x - v;
        if (k < K) {
          offsets[k] = excl;
          cur[k] = excl;
        }
        carry += warp_total[kPartWarps - 1];
        __syncthreads();
      }
      if (tid == 0) offsets[K] = carry;
      __syncthreads();
    }
    for (int base = 0; base < B; base += kPartThreads) {
      tile[tid] = base + tid < B ? key[base + tid] : -1;
      __syncthreads();
      const int n = B - base < kPartThreads ? B - base : kPartThreads;
      for (int c = 0; c < n; c += kWarp) {  // uniform across the block
        const int t = tile[c + lane];
        const bool own = t >= 0 && t < K && t % kPartWarps == warp;
        // K <= 32: warp w owns key w alone, a ballot finds its lanes; else group lanes by key
        // (every lane that does not own its key joins the group of -1, which is ignored).
        const unsigned peers =
            K <= kPartWarps ? __ballot_sync(0xffffffffu, own) : __match_any_sync(0xffffffffu, own ? t : -1);
        const bool leader = own && lane == __ffs(peers) - 1;
        if (own) {
          if (pass == 0) {
            if (leader) cur[t] += __popc(peers);
          } else {
            rows[cur[t] + __popc(peers & below)] = base + c + lane;
          }
        }
        __syncwarp();  // every lane of the group has read cur[t] before the leader moves it
        if (pass == 1 && leader) cur[t] += __popc(peers);
        __syncwarp();
      }
      __syncthreads();  // the tile is rewritten next
    }
  }
}

// The same stable counting sort for K <= kSmallKeys, a tile of 1024 rows at a time instead of a
// warp's serial scan of every row: counts first (integer shared-memory atomics: totals do not
// depend on their order), an exclusive scan into offsets, then per tile each warp ranks its 32
// rows by key (match_any), hist[w][k] = warp w's count of key k, an exclusive scan over the warps
// per key (plus the key's running cursor) gives every row its slot. Same output as
// partition_rows_kernel (a stable sort has one result).
__global__ void __launch_bounds__(kPartThreads)
    partition_rows_small_kernel(const int32_t* __restrict__ key, int B, int K, int32_t* __restrict__ offsets,
                                int32_t* __restrict__ rows) {
  __shared__ int32_t hist[kPartWarps][kSmallKeys];
  __shared__ int32_t cursor[kSmallKeys];
  const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
  const unsigned below = (1u << lane) - 1u;
  for (int k = tid; k < K; k += kPartThreads) cursor[k] = 0;
  __syncthreads();
  for (int b = tid; b < B; b += kPartThreads) {
    const int t = key[b];
    if (t >= 0 && t < K) atomicAdd(&cursor[t], 1);
  }
  __syncthreads();
  if (warp == 0) {  // offsets = exclusive prefix sums of the counts; cursor[k] = offsets[k]
    int carry = 0;
    for (int k0 = 0; k0 < K; k0 += kWarp) {
      const int k = k0 + lane;
      const int c = k < K ? cursor[k] : 0;
      const int x = warp_inclusive_scan(c, lane);
      if (k < K) {
        offsets[k] = carry + x - c;
        cursor[k] = carry + x - c;
      }
      carry += __shfl_sync(0xffffffffu, x, kWarp - 1);
    }
    if (lane == 0) offsets[K] = carry;
  }
  __syncthreads();
  for (int base = 0; base < B; base += kPartThreads) {
    for (int i = tid; i < kPartWarps * K; i += kPartThreads) hist[i / K][i % K] = 0;
    const int b = base + tid;
    const int t = b < B ? key[b] : -1;
    const bool valid = t >= 0 && t < K;
    const unsigned peers = __match_any_sync(0xffffffffu, valid ? t : -1);
    const int rank = __popc(peers & below);
    __syncthreads();  // hist cleared
    if (valid && rank == 0) hist[warp][t] = __popc(peers);
    __syncthreads();
    for (int k = warp; k < K; k += kPartWarps) {  // lane = warp index of the tile
      const int c = hist[lane][k];
      const int x = warp_inclusive_scan(c, lane);
      hist[lane][k] = cursor[k] + x - c;
      const int total = __shfl_sync(0xffffffffu, x, kWarp - 1);
      __syncwarp();  // every lane has read cursor[k]
      if (lane == 0) cursor[k] += total;
    }
    __syncthreads();
    if (valid) rows[hist[warp][t] + rank] = b;
    __syncthreads();  // hist is cleared for the next tile
  }
}

// out[k, :] = (beta == 0 ? 0 : beta * out[k, :]) + sum over group k's rows of alpha * src[b, :].
// Block (kColTile, kRowLanes) per (column tile, group): lane ty sums the group's rows ty, ty + 32,
// ... in order, then the fixed tree of column_sum_kernel (cuda_kernels.cu), so alpha 1 / beta 0
// reproduces column_sum over the group's rows bit for bit.
__global__ void segment_column_sum_kernel(const float* __restrict__ src, const int32_t* __restrict__ rows,
                                          const int32_t* __restrict__ offsets, int B, int D, int K, float alpha,
                                          float beta, float* __restrict__ out) {
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  for (int k = blockIdx.y; k < K; k += gridDim.y) {
    const GroupRange grp = group_range(offsets, k, B);
    float acc = 0.0f;
    if (col < D)
      for (int r = grp.begin + ty; r < grp.end; r += kRowLanes) {
        const int b = rows ? rows[r] : r;
        acc += alpha * src[static_cast<size_t>(b) * D + col];
      }
    part[ty][tx] = acc;
    row_lanes_tree_sum(part, tx, ty);
    if (ty == 0 && col < D) {
      float* o = out + static_cast<size_t>(k) * D + col;
      *o = (beta == 0.0f ? 0.0f : beta * *o) + part[0][tx];
    }
    __syncthreads();  // part is reused by the next group
  }
}

}  // namespace

void launch_partition_rows(const LaunchCtx& ctx, const int32_t* key, int B, int K, int32_t* offsets, int32_t* cursor,
                           int32_t* rows) {
  if (K <= 0) return;
  if (K <= kSmallKeys) {
    partition_rows_small_kernel<<<1, kPartThreads, 0, ctx.stream>>>(key, B < 0 ? 0 : B, K, offsets, rows);
    BL_CUDA_LAUNCHED("partition_rows_small_kernel");
  } else {
    partition_rows_kernel<<<1, kPartThreads, 0, ctx.stream>>>(key, B < 0 ? 0 : B, K, offsets, cursor, rows);
    BL_CUDA_LAUNCHED("partition_rows_kernel");
  }
}

void launch_segment_column_sum(const LaunchCtx& ctx, const float* src, const int32_t* rows, const int32_t* offsets,
                               int B, int D, int K, float alpha, float beta, float* out) {
  if (D <= 0 || K <= 0) return;
  const dim3 block(kColTile, kRowLanes);
  segment_column_sum_kernel<<<grid_column_tiles(D, K), block, 0, ctx.stream>>>(src, rows, offsets, B < 0 ? 0 : B, D, K,
                                                                               alpha, beta, out);
  BL_CUDA_LAUNCHED("segment_column_sum_kernel");
}

}  // namespace cuda
}  // namespace bl
