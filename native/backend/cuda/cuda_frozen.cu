// Frozen matrices in bf16 on CUDA (backend.h, FrozenMatrix): generation straight into bf16, the
// rounding of products' float inputs, and widening. Compiled with -fmad=false (cuda.cmake), like
// cuda_weights.cu, so the generated weights are bit-identical to the CPU's before rounding, and
// the rounding (common/bf16.h, integer arithmetic) is the same function on both.
#include <cuda_bf16.h>

#include "../../common/bf16.h"
#include "../../common/philox.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

__global__ void round_bf16_kernel(float* __restrict__ x, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    x[i] = bf16_value(x[i]);
}

// W[rows, cols] bf16 = bf16_round(sample_weight(seed, stream, r, c)).
__global__ void fill_bf16_kernel(uint16_t* __restrict__ W, int rows, int cols, uint64_t seed, uint32_t stream, int dist,
                                 double a) {
  for (int r = blockIdx.y; r < rows; r += gridDim.y) {
    uint16_t* w = W + static_cast<size_t>(r) * cols;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x)
      w[c] = bf16_round(sample_weight(seed, stream, static_cast<uint32_t>(r), static_cast<uint32_t>(c), dist, a));
  }
}

// out[rows, cols] bf16 (dense) = bf16_round(X[r * ld + c]).
__global__ void to_bf16_kernel(const float* __restrict__ X, int rows, int cols, int ld, uint16_t* __restrict__ out) {
  for (int r = blockIdx.y; r < rows; r += gridDim.y)
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x)
      out[static_cast<size_t>(r) * cols + c] = bf16_round(X[static_cast<size_t>(r) * ld + c]);
}

__global__ void widen_bf16_kernel(const uint16_t* __restrict__ W, size_t n, float* __restrict__ out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    out[i] = bf16_widen(W[i]);
}

}  // namespace

void launch_round_bf16(const LaunchCtx& ctx, float* x, size_t n) {
  if (n == 0) return;
  round_bf16_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(x, n);
  BL_CUDA_LAUNCHED("round_bf16_kernel");
}

void launch_fill_bf16(const LaunchCtx& ctx, uint16_t* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist,
                      double a) {
  if (rows <= 0 || cols <= 0) return;
  fill_bf16_kernel<<<grid_2d(ctx, rows, cols), kThreads, 0, ctx.stream>>>(W, rows, cols, seed, stream,
                                                                          static_cast<int>(dist), a);
  BL_CUDA_LAUNCHED("fill_bf16_kernel");
}

void launch_to_bf16(const LaunchCtx& ctx, const float* X, int rows, int cols, int ld, uint16_t* out) {
  if (rows <= 0 || cols <= 0) return;
  to_bf16_kernel<<<grid_2d(ctx, rows, cols), kThreads, 0, ctx.stream>>>(X, rows, cols, ld, out);
  BL_CUDA_LAUNCHED("to_bf16_kernel");
}

void launch_widen_bf16(const LaunchCtx& ctx, const uint16_t* W, size_t n, float* out) {
  if (n == 0) return;
  widen_bf16_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(W, n, out);
  BL_CUDA_LAUNCHED("widen_bf16_kernel");
}

}  // namespace cuda
}  // namespace bl
