// Frozen-weight generation on CUDA. This translation unit is compiled with -fmad=false
// (cuda.cmake) and common/philox.h uses the __dadd_rn/__dmul_rn intrinsics on the device, so no
// multiply-add is contracted into an FMA and every weight is bit-identical to cpu_weights.cpp
// (which is compiled with -ffp-contract=off). Double division and sqrt are IEEE round-to-nearest
// under nvcc's defaults (-prec-div=true, -prec-sqrt=true); do not build with --use_fast_math.
#include "../../common/philox.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// W[rows, cols]: blockIdx.y strides rows r, x threads cover columns c; W[r, c] = f(seed, stream, r, c).
__global__ void fill_weights_kernel(float* __restrict__ W, int rows, int cols, uint64_t seed, uint32_t stream, int dist,
                                    double a) {
  for (int r = blockIdx.y; r < rows; r += gridDim.y) {
    float* w = W + static_cast<size_t>(r) * cols;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x)
      w[c] = sample_weight(seed, stream, static_cast<uint32_t>(r), static_cast<uint32_t>(c), dist, a);
  }
}

}  // namespace

void launch_fill_weights(const LaunchCtx& ctx, float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist,
                         double a) {
  if (rows <= 0 || cols <= 0) return;
  fill_weights_kernel<<<grid_2d(ctx, rows, cols), kThreads, 0, ctx.stream>>>(W, rows, cols, seed, stream,
                                                                             static_cast<int>(dist), a);
  BL_CUDA_LAUNCHED("fill_weights_kernel");
}

}  // namespace cuda
}  // namespace bl
