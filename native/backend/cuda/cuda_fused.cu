// Fused kernels that replace several core kernels on a hot path (same results up to rounding).
#include <cuda_runtime.h>

#include <string>

#include "cuda_check.h"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

constexpr int kTileCols = 32;   // columns per block (threadIdx.x): one coalesced 128-byte row segment
constexpr int kRowLanes = 32;   // row lanes per block (threadIdx.y)
constexpr int kMaxFanout = 64;  // O <= 64: the W tile [O][32] lives in shared memory

template <Act A>
__device__ __forceinline__ float act_grad(float a) {
  if (A == Act::Relu) return a > 0.0f ? 1.0f : 0.0f;
  if (A == Act::Tanh) return 1.0f - a * a;
  if (A == Act::Sigmoid) return a * (1.0f - a);
  return 1.0f;
}

// out[H] = beta*out + sum_b act'(A[b,h]) * sum_o dZ[b,o] W[o,h].
// Block: 32 columns x 32 row lanes; lane ty handles rows ty, ty+32, ... in order, then a fixed
// tree over lanes (deterministic). W's tile is staged in shared memory; dZ rows are broadcast
// loads (every thread of a warp reads the same address).
template <Act A>
__global__ void small_fanout_backward_kernel(const float* __restrict__ dZ, const float* __restrict__ W,
                                             const float* __restrict__ Act_, int B, int O, int H, float beta,
                                             float* __restrict__ out) {
  __shared__ float w_tile[kMaxFanout][kTileCols];
  __shared__ float part[kRowLanes][kTileCols];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kTileCols + tx;
  for (int o = ty; o < O; o += kRowLanes) w_tile[o][tx] = col < H ? W[static_cast<size_t>(o) * H + col] : 0.0f;
  __syncthreads();
  float acc = 0.0f;
  if (col < H) {
    for (int b = ty; b < B; b += kRowLanes) {
      const float* dz = dZ + static_cast<size_t>(b) * O;
      float g = 0.0f;
      for (int o = 0; o < O; ++o) g += dz[o] * w_tile[o][tx];
      acc += act_grad<A>(Act_[static_cast<size_t>(b) * H + col]) * g;
    }
  }
  part[ty][tx] = acc;
  __syncthreads();
  for (int s = kRowLanes / 2; s > 0; s >>= 1) {
    if (ty < s) part[ty][tx] += part[ty + s][tx];
    __syncthreads();
  }
  if (ty == 0 && col < H) out[col] = (beta == 0.0f ? 0.0f : beta * out[col]) + part[0][tx];
}

}  // namespace

void launch_small_fanout_backward(const LaunchCtx& ctx, const float* dZ, const float* W, const float* A, int B, int O,
                                  int H, Act act, float beta, float* out) {
  if (H <= 0) return;
  if (O > kMaxFanout) throw BlError("E_NATIVE", "small_fanout_backward: fan-out " + std::to_string(O) + " above 64");
  const dim3 block(kTileCols, kRowLanes);
  const dim3 grid(static_cast<unsigned>((H + kTileCols - 1) / kTileCols));
  const int rows = B < 0 ? 0 : B;
  switch (act) {
    case Act::Relu: small_fanout_backward_kernel<Act::Relu><<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out); break;
    case Act::Tanh: small_fanout_backward_kernel<Act::Tanh><<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out); break;
    case Act::Sigmoid: small_fanout_backward_kernel<Act::Sigmoid><<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out); break;
    default: small_fanout_backward_kernel<Act::Identity><<<grid, block, 0, ctx.stream>>>(dZ, W, A, rows, O, H, beta, out); break;
  }
  BL_CUDA_LAUNCHED("small_fanout_backward_kernel");
}

}  // namespace cuda
}  // namespace bl
