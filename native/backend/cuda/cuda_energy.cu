// The energy-network kernels (backend.h, "energy networks"; native/contrastive) on CUDA. The CPU
// loops in cpu/cpu_energy.cpp are the spec: the same formulas and operand order; results agree
// with the CPU to float rounding (nvcc contracts a*b+c into FMA here). delta is a max, so its
// atomic fold does not depend on the order.
//
// Shapes: B batch, H layer width.
#include <cuda_runtime.h>

#include "../../common/activation.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// Max of a non-negative float into *delta through its bits (non-negative floats order as ints).
__device__ __forceinline__ void fold_max(float* delta, float v) {
  atomicMax(reinterpret_cast<unsigned int*>(delta), __float_as_uint(v));
}

// Block-wide max of v (kThreads threads), folded into *delta by thread 0.
__device__ void block_max(float* delta, float v) {
  __shared__ float part[kThreads / kWarp];
  for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float m = 0.0f;
    for (int w = 0; w < kThreads / kWarp; ++w) m = fmaxf(m, part[w]);
    fold_max(delta, m);
  }
}

// Z <- (1 - eps) Z + eps (D + D2 + F Wf + bias - beta (U - T)), U <- act(Z). blockIdx.y strides
// rows, x covers columns (every thread of a block reaches block_max). F [B,Of] Wf [Of,H] with
// Of <= kEnergyMaxFeedback (0: none); a thread sums its column over o in ascending order.
template <Act A>
__global__ void energy_step_kernel(float* __restrict__ Z, float* __restrict__ U, const float* __restrict__ D,
                                   const float* D2, const float* __restrict__ F, const float* __restrict__ Wf, int Of,
                                   const float* __restrict__ bias, const float* T, int B, int H, float eps, float beta,
                                   float* delta) {
  const float keep = 1.0f - eps;
  float local = 0.0f;
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    const size_t row = static_cast<size_t>(b) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x) {
      const size_t i = row + h;
      float d = D[i] + bias[h];
      if (D2) d += D2[i];
      if (Of > 0) {
        const float* f_row = F + static_cast<size_t>(b) * Of;
        float fb = 0.0f;
        for (int o = 0; o < Of; ++o) fb = fmaf(f_row[o], Wf[static_cast<size_t>(o) * H + h], fb);
        d += fb;
      }
      if (T) d -= beta * (U[i] - T[i]);
      const float z = keep * Z[i] + eps * d;
      const float u = ActFn<A>::forward(z);
      local = fmaxf(local, fabsf(u - U[i]));
      Z[i] = z;
      U[i] = u;
    }
  }
  if (delta) block_max(delta, local);
}

// G <- (1 - eps) G + eps act'(U) (D + C).
template <Act A>
__global__ void adjoint_step_kernel(float* __restrict__ G, const float* __restrict__ U, const float* __restrict__ D,
                                    const float* C, size_t n, float eps, float* delta) {
  const float keep = 1.0f - eps;
  float local = 0.0f;
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const float d = C ? D[i] + C[i] : D[i];
    const float g = keep * G[i] + eps * ActFn<A>::grad(U[i]) * d;
    local = fmaxf(local, fabsf(g - G[i]));
    G[i] = g;
  }
  if (delta) block_max(delta, local);
}

// C[B,O] = A[B,K] W[O,K]^T: warp w of the grid computes output w = b * O + o; lane l sums
// k = l, l + 32, ... and a shuffle tree folds the lanes (a fixed order).
__global__ void narrow_product_kernel(const float* __restrict__ A, const float* __restrict__ W, int B, int K, int O,
                                      float* __restrict__ C) {
  const size_t n = static_cast<size_t>(B) * O;
  const int lane = threadIdx.x % kWarp;
  const size_t warps = static_cast<size_t>(gridDim.x) * (blockDim.x / kWarp);
  for (size_t w = (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; w < n; w += warps) {
    const float* a = A + (w / O) * K;
    const float* wr = W + (w % O) * K;
    float s = 0.0f;
    for (int k = lane; k < K; k += kWarp) s = fmaf(a[k], wr[k], s);
    for (int o = kWarp / 2; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) C[w] = s;
  }
}

}  // namespace

void launch_narrow_product(const LaunchCtx& ctx, const float* A, const float* W, int B, int K, int O, float* C) {
  if (B <= 0 || O <= 0) return;
  const size_t warps = static_cast<size_t>(B) * O;
  const size_t threads = warps * kWarp;
  narrow_product_kernel<<<blocks_1d(ctx, threads), kThreads, 0, ctx.stream>>>(A, W, B, K, O, C);
  BL_CUDA_LAUNCHED("narrow_product_kernel");
}

void launch_energy_step(const LaunchCtx& ctx, float* Z, float* U, const float* D, const float* D2, const float* F,
                        const float* Wf, int Of, const float* bias, const float* T, int B, int H, Act act, float eps,
                        float beta, float* delta) {
  if (delta) check_cuda(cudaMemsetAsync(delta, 0, sizeof(float), ctx.stream), "cudaMemsetAsync", "energy_step delta");
  if (B <= 0 || H <= 0) return;
  const dim3 grid = grid_2d(ctx, B, H);
  dispatch_act(act, [&](auto tag) {
    energy_step_kernel<decltype(tag)::value>
        <<<grid, kThreads, 0, ctx.stream>>>(Z, U, D, D2, F, Wf, F ? Of : 0, bias, T, B, H, eps, beta, delta);
  });
  BL_CUDA_LAUNCHED("energy_step_kernel");
}

void launch_adjoint_step(const LaunchCtx& ctx, float* G, const float* U, const float* D, const float* C, int B, int H,
                         Act act, float eps, float* delta) {
  if (delta) check_cuda(cudaMemsetAsync(delta, 0, sizeof(float), ctx.stream), "cudaMemsetAsync", "adjoint_step delta");
  if (B <= 0 || H <= 0) return;
  const size_t n = static_cast<size_t>(B) * H;
  dispatch_act(act, [&](auto tag) {
    adjoint_step_kernel<decltype(tag)::value>
        <<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(G, U, D, C, n, eps, delta);
  });
  BL_CUDA_LAUNCHED("adjoint_step_kernel");
}

}  // namespace cuda
}  // namespace bl
