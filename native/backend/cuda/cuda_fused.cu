// Fused kernels that replace several core kernels on a hot path (same results up to rounding).
#include <cuda_runtime.h>

#include <string>

#include "../../common/activation.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// Backward blocks: kColTile = 32 columns (threadIdx.x: one coalesced 128-byte row segment) x
// kRowLanes = 32 row lanes (threadIdx.y), reduced by row_lanes_tree_sum (cuda_common.cuh).
constexpr int kMaxFanout = kSmallFanoutMaxOut;  // the W tile [O][32] lives in shared memory

// out[H] = beta*out + sum_b act'(A[b,h]) * sum_o dZ[b,o] W[o,h].
// Block: 32 columns x 32 row lanes; lane ty handles rows ty, ty+32, ... in order, then a fixed
// tree over lanes (deterministic). W's tile is staged in shared memory; dZ rows are broadcast
// loads (every thread of a warp reads the same address).
template <Act A>
__global__ void small_fanout_backward_kernel(const float* __restrict__ dZ, const float* __restrict__ W,
                                             const float* __restrict__ Act_, int B, int O, int H, float beta,
                                             float* __restrict__ out) {
  __shared__ float w_tile[kMaxFanout][kColTile];
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  for (int o = ty; o < O; o += kRowLanes) w_tile[o][tx] = col < H ? W[static_cast<size_t>(o) * H + col] : 0.0f;
  __syncthreads();
  float acc = 0.0f;
  if (col < H) {
    for (int b = ty; b < B; b += kRowLanes) {
      const float* dz = dZ + static_cast<size_t>(b) * O;
      float g = 0.0f;
      for (int o = 0; o < O; ++o) g += dz[o] * w_tile[o][tx];
      acc += ActFn<A>::grad(Act_[static_cast<size_t>(b) * H + col]) * g;
    }
  }
  part[ty][tx] = acc;
  row_lanes_tree_sum(part, tx, ty);
  if (ty == 0 && col < H) out[col] = (beta == 0.0f ? 0.0f : beta * out[col]) + part[0][tx];
}

// The same for O <= 16 with W's column in registers and 32 dZ rows staged in shared memory per
// round: every dZ value is a broadcast shared load, the O-loop is unrolled, and A is read once.
template <Act A>
__global__ void small_fanout_backward_reg_kernel(const float* __restrict__ dZ, const float* __restrict__ W,
                                                 const float* __restrict__ Act_, int B, int O, int H, float beta,
                                                 float* __restrict__ out) {
  constexpr int kMaxO = 16;
  __shared__ float dz_tile[kRowLanes][kMaxO];
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  float w[kMaxO];
#pragma unroll
  for (int o = 0; o < kMaxO; ++o) w[o] = (o < O && col < H) ? W[static_cast<size_t>(o) * H + col] : 0.0f;
  float acc = 0.0f;
  for (int b0 = 0; b0 < B; b0 += kRowLanes) {
    const int lin = ty * kColTile + tx;  // 1024 threads stage a [32 rows][O] slice of dZ
    if (lin < kRowLanes * kMaxO) {
      const int r = lin / kMaxO, o = lin % kMaxO;
      dz_tile[r][o] = (b0 + r < B && o < O) ? dZ[static_cast<size_t>(b0 + r) * O + o] : 0.0f;
    }
    __syncthreads();
    const int b = b0 + ty;
    if (b < B && col < H) {
      float g = 0.0f;
#pragma unroll
      for (int o = 0; o < kMaxO; ++o) g += dz_tile[ty][o] * w[o];
      acc += ActFn<A>::grad(Act_[static_cast<size_t>(b) * H + col]) * g;
    }
    __syncthreads();
  }
  part[ty][tx] = acc;
  row_lanes_tree_sum(part, tx, ty);
  if (ty == 0 && col < H) out[col] = (beta == 0.0f ? 0.0f : beta * out[col]) + part[0][tx];
}

// ---- fused forward through the last hidden layer and a small readout (O <= 16):
//   Z[B,H] <- act(Z + bias),  partial[t][b][o] = sum over the 256 columns of tile t of Z[b,h] W[o,h]
// Block: 256 threads (8 warps) x kFwdRows rows; each thread owns one column and keeps W's
// column in registers; warp sums by a fixed shuffle tree, then the 8 warps in order.
constexpr int kFwdCols = 256;
constexpr int kFwdRows = 8;
constexpr int kFwdMaxO = kReadoutMaxOut;

template <Act A>
__global__ void bias_act_readout_partial_kernel(float* __restrict__ Z, const float* __restrict__ bias,
                                                const float* __restrict__ W, int B, int H, int O,
                                                float* __restrict__ partial) {
  __shared__ float warp_part[kFwdRows][kFwdCols / 32][kFwdMaxO];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int col = blockIdx.x * kFwdCols + tid;
  const int row0 = blockIdx.y * kFwdRows;
  float w[kFwdMaxO];
#pragma unroll
  for (int o = 0; o < kFwdMaxO; ++o) w[o] = (o < O && col < H) ? W[static_cast<size_t>(o) * H + col] : 0.0f;
  const float bc = col < H ? bias[col] : 0.0f;
  for (int r = 0; r < kFwdRows; ++r) {
    const int b = row0 + r;
    float a = 0.0f;
    if (b < B && col < H) {
      float* z = Z + static_cast<size_t>(b) * H + col;
      a = ActFn<A>::forward(*z + bc);
      *z = a;
    }
#pragma unroll
    for (int o = 0; o < kFwdMaxO; ++o) {
      if (o >= O) break;
      const float v = warp_sum(a * w[o]);
      if (lane == 0) warp_part[r][warp][o] = v;
    }
  }
  __syncthreads();
  const int tiles = gridDim.x;
  for (int i = tid; i < kFwdRows * O; i += blockDim.x) {
    const int r = i / O, o = i % O, b = row0 + r;
    if (b >= B) continue;
    float s = 0.0f;
    for (int k = 0; k < kFwdCols / 32; ++k) s += warp_part[r][k][o];
    partial[(static_cast<size_t>(blockIdx.x) * B + b) * O + o] = s;
    (void)tiles;
  }
}

// Y[b,o] = c[o] + sum_t partial[t][b][o], t in order.
__global__ void readout_reduce_kernel(const float* __restrict__ partial, const float* __restrict__ c, int tiles, int B,
                                      int O, float* __restrict__ Y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * O) return;
  const int o = i % O;
  float s = 0.0f;
  for (int t = 0; t < tiles; ++t) s += partial[static_cast<size_t>(t) * B * O + i];
  Y[i] = s + c[o];
}

}  // namespace

size_t bias_act_readout_scratch_floats(int B, int H, int O) {
  return static_cast<size_t>((H + kFwdCols - 1) / kFwdCols) * B * O;
}

void launch_bias_act_readout(const LaunchCtx& ctx, float* Z, const float* bias, Act act, const float* W, const float* c,
                             int B, int H, int O, float* Y, float* scratch) {
  if (B <= 0 || H <= 0 || O <= 0) return;
  if (O > kFwdMaxO) throw BlError("E_NATIVE", "bias_act_readout: fan-out " + std::to_string(O) + " above 16");
  const int tiles = (H + kFwdCols - 1) / kFwdCols;
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>((B + kFwdRows - 1) / kFwdRows));
  dispatch_act(act, [&](auto tag) {
    bias_act_readout_partial_kernel<decltype(tag)::value>
        <<<grid, kFwdCols, 0, ctx.stream>>>(Z, bias, W, B, H, O, scratch);
  });
  BL_CUDA_LAUNCHED("bias_act_readout_partial_kernel");
  const int n = B * O;
  readout_reduce_kernel<<<(n + 255) / 256, 256, 0, ctx.stream>>>(scratch, c, tiles, B, O, Y);
  BL_CUDA_LAUNCHED("readout_reduce_kernel");
}

void launch_small_fanout_backward(const LaunchCtx& ctx, const float* dZ, const float* W, const float* A, int B, int O,
                                  int H, Act act, float beta, float* out) {
  if (H <= 0) return;
  if (O > kMaxFanout) throw BlError("E_NATIVE", "small_fanout_backward: fan-out " + std::to_string(O) + " above 64");
  const dim3 block(kColTile, kRowLanes);
  const dim3 grid = grid_column_tiles(H);
  const int rows = B < 0 ? 0 : B;
  if (O <= 16) {
    dispatch_act(act, [&](auto tag) {
      small_fanout_backward_reg_kernel<decltype(tag)::value>
          <<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out);
    });
    BL_CUDA_LAUNCHED("small_fanout_backward_reg_kernel");
    return;
  }
  dispatch_act(act, [&](auto tag) {
    small_fanout_backward_kernel<decltype(tag)::value><<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out);
  });
  BL_CUDA_LAUNCHED("small_fanout_backward_kernel");
}

}  // namespace cuda
}  // namespace bl
