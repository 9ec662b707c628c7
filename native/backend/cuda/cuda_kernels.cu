// The CUDA backend's own kernels: fused bias + activation, activation backward, column sums,
// losses, gathers and optimizer updates. The CPU loops in cpu/cpu_backend.cpp are the spec: same
// formulas (the activations of common/activation.h, double-precision log-sum-exp), same tie rule
// for argmax.
// Results agree with the CPU to float rounding, not bit for bit (nvcc contracts a*b+c into FMA
// here; only cuda_weights.cu must match the CPU exactly). Every reduction has a fixed order that
// depends only on the shape, so a run repeats bit for bit on the same device.
//
// Shapes: B batch, H hidden (or any row width of an activation), O outputs, N dataset rows,
// D row width. All row-major, float32, indices int32.
#include "../../common/activation.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// Block shapes, grids (blocks_1d, grid_2d) and the fixed-order reductions: cuda_common.cuh.

// ---------------------------------------------------------------- elementwise

__global__ void fill_kernel(float* __restrict__ dst, float value, size_t n) {
  for (size_t i = global_id(); i < n; i += grid_stride()) dst[i] = value;
}

// Z[B,H] <- act(Z + bias[H]); blockIdx.y strides rows, x threads cover columns.
template <Act A>
__global__ void bias_act_kernel(float* __restrict__ Z, const float* __restrict__ bias, int B, int H) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    float* z = Z + static_cast<size_t>(b) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x)
      z[h] = ActFn<A>::forward(z[h] + bias[h]);
  }
}

// G[B,H] <- G * act'(A[B,H]), act' written through the output (ActFn<A>::grad).
template <Act A>
__global__ void act_backward_kernel(float* __restrict__ G, const float* __restrict__ Aout, int B, int H) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    float* g = G + static_cast<size_t>(b) * H;
    const float* a = Aout + static_cast<size_t>(b) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x)
      g[h] *= ActFn<A>::grad(a[h]);
  }
}

// ---------------------------------------------------------------- column sum

// out[H] = beta * out + sum_b G[b, :]. Block (kColTile, kRowLanes) owns kColTile columns:
// thread (x, y) sums rows y, y + kRowLanes, ... of column x in row order, then the kRowLanes
// partial sums are combined by a fixed shared-memory tree. The order depends only on B.
__global__ void column_sum_kernel(const float* __restrict__ G, int B, int H, float beta, float* __restrict__ out) {
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  float acc = 0.0f;
  if (col < H)
    for (int b = ty; b < B; b += kRowLanes) acc += G[static_cast<size_t>(b) * H + col];
  part[ty][tx] = acc;
  row_lanes_tree_sum(part, tx, ty);
  if (ty == 0 && col < H) out[col] = (beta == 0.0f ? 0.0f : beta * out[col]) + part[0][tx];
}

// ---------------------------------------------------------------- losses

// One warp per row of logits[B,O]. Lane l reads columns l, l+32, ...; the argmax keeps the
// lowest index among equal maxima (the CPU's strict `>` scan); log-sum-exp in double.
// dlogits may alias logits: every lane reads all it needs (max, z[y], the sum) before the
// warp's shuffles complete, and afterwards writes only the elements it alone reads.
__global__ void softmax_xent_rows_kernel(const float* logits, const int32_t* __restrict__ labels, int B, int O,
                                         float scale, float* dlogits, double* __restrict__ row_loss,
                                         int32_t* __restrict__ row_hit) {
  const int lane = threadIdx.x % kWarp;
  const int b = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  if (b >= B) return;  // whole warp: b is uniform across it
  const float* z = logits + static_cast<size_t>(b) * O;
  float* d = dlogits + static_cast<size_t>(b) * O;
  const WarpArgmax best = warp_argmax(z, O, lane);
  const int y = labels[b];
  double dmx;
  const double inv = softmax_xent_row_loss(z, O, best.mx, best.arg, y, lane, b, row_loss, row_hit, &dmx);
  const double dscale = static_cast<double>(scale);
  for (int o = lane; o < O; o += kWarp) {
    const double p = exp(static_cast<double>(z[o]) - dmx) * inv;
    d[o] = static_cast<float>(dscale * (p - (o == y ? 1.0 : 0.0)));
  }
}

// One warp per row of Y[B,O]: row_loss[b] = sum_o (Y-T)^2 / O in double; dY (optional, may
// alias Y: each element is read and written by the same lane) = scale * 2 (Y-T) / O.
__global__ void mse_rows_kernel(const float* Y, const float* __restrict__ T, int B, int O, float scale, float* dY,
                                double* __restrict__ row_loss) {
  const int lane = threadIdx.x % kWarp;
  const int b = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  if (b >= B) return;
  const size_t base = static_cast<size_t>(b) * O;
  const double invO = 1.0 / O;
  const double dscale = static_cast<double>(scale);
  double acc = 0.0;
  for (int o = lane; o < O; o += kWarp) {
    const double e = static_cast<double>(Y[base + o]) - static_cast<double>(T[base + o]);
    acc += e * e * invO;
    if (dY) dY[base + o] = static_cast<float>(dscale * 2.0 * e * invO);
  }
  acc = warp_sum(acc);
  if (lane == 0) row_loss[b] = acc;
}

// stats[0] = sum_b row_loss[b] (double, cast once), stats[1] = sum_b row_hit[b]. Single block:
// thread t sums rows t, t+256, ... in order, then a fixed shared-memory tree.
__global__ void reduce_stats_kernel(const double* __restrict__ row_loss, const int32_t* __restrict__ row_hit, int B,
                                    float* __restrict__ stats) {
  __shared__ double sl[kReduceThreads];
  __shared__ long long sh[kReduceThreads];
  const int t = threadIdx.x;
  double l = 0.0;
  long long h = 0;
  for (int i = t; i < B; i += kReduceThreads) {
    l += row_loss[i];
    if (row_hit) h += row_hit[i];
  }
  block_sum_pair(sl, sh, t, l, h, stats);
}

// ---------------------------------------------------------------- gathers

// dst[B,D] = src[idx[b], :]; blockIdx.y strides rows, x threads cover the row.
__global__ void gather_rows_kernel(const float* __restrict__ src, const int32_t* __restrict__ idx, int B, int D,
                                   float* __restrict__ dst) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    const float* s = src + static_cast<size_t>(idx[b]) * D;
    float* o = dst + static_cast<size_t>(b) * D;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < D; j += gridDim.x * blockDim.x) o[j] = s[j];
  }
}

__global__ void gather_labels_kernel(const int32_t* __restrict__ src, const int32_t* __restrict__ idx, int B,
                                     int32_t* __restrict__ dst) {
  for (size_t i = global_id(); i < static_cast<size_t>(B); i += grid_stride()) dst[i] = src[idx[i]];
}

// ---------------------------------------------------------------- optimizers

// Adam, PyTorch semantics with L2 decay added to g (as CpuBackend::adam).
__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, size_t n, float step, float b1, float b2, float eps, float wd,
                            float inv_sqrt_bc2) {
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const float pi = p[i];
    const float gi = g[i] + wd * pi;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

// SGD with momentum: vel = mu vel + g; p -= lr * (nesterov ? g + mu vel : vel); mu = 0: plain.
__global__ void sgd_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ vel, size_t n,
                           float lr, float mu, bool nesterov, float wd) {
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const float gi = g[i] + wd * p[i];
    if (mu == 0.0f) {
      p[i] -= lr * gi;
      continue;
    }
    const float vi = mu * vel[i] + gi;
    vel[i] = vi;
    p[i] -= lr * (nesterov ? gi + mu * vi : vi);
  }
}

}  // namespace

// ---------------------------------------------------------------- launchers

void launch_fill(const LaunchCtx& ctx, float* dst, float value, size_t n) {
  if (n == 0) return;
  fill_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(dst, value, n);
  BL_CUDA_LAUNCHED("fill_kernel");
}

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, fill_kernel);
}

void launch_bias_act(const LaunchCtx& ctx, float* Z, const float* bias, int B, int H, Act act) {
  if (B <= 0 || H <= 0) return;
  const dim3 grid = grid_2d(ctx, B, H);
  dispatch_act(
      act, [&](auto tag) { bias_act_kernel<decltype(tag)::value><<<grid, kThreads, 0, ctx.stream>>>(Z, bias, B, H); });
  BL_CUDA_LAUNCHED("bias_act_kernel");
}

void launch_act_backward(const LaunchCtx& ctx, float* G, const float* A, int B, int H, Act act) {
  if (B <= 0 || H <= 0 || act == Act::Identity) return;
  const dim3 grid = grid_2d(ctx, B, H);
  dispatch_act(
      act, [&](auto tag) { act_backward_kernel<decltype(tag)::value><<<grid, kThreads, 0, ctx.stream>>>(G, A, B, H); });
  BL_CUDA_LAUNCHED("act_backward_kernel");
}

void launch_column_sum(const LaunchCtx& ctx, const float* G, int B, int H, float beta, float* out) {
  if (H <= 0) return;
  // B == 0 still writes out = beta * out (an empty sum), as the CPU does.
  const dim3 block(kColTile, kRowLanes);
  column_sum_kernel<<<grid_column_tiles(H), block, 0, ctx.stream>>>(G, B < 0 ? 0 : B, H, beta, out);
  BL_CUDA_LAUNCHED("column_sum_kernel");
}

void launch_softmax_xent_rows(const LaunchCtx& ctx, const float* logits, const int32_t* labels, int B, int O,
                              float scale, float* dlogits, double* row_loss, int32_t* row_hit) {
  if (B <= 0 || O <= 0) return;
  const unsigned grid = static_cast<unsigned>((B + kRowsPerBlock - 1) / kRowsPerBlock);
  softmax_xent_rows_kernel<<<grid, kThreads, 0, ctx.stream>>>(logits, labels, B, O, scale, dlogits, row_loss, row_hit);
  BL_CUDA_LAUNCHED("softmax_xent_rows_kernel");
}

void launch_mse_rows(const LaunchCtx& ctx, const float* Y, const float* T, int B, int O, float scale, float* dY,
                     double* row_loss) {
  if (B <= 0 || O <= 0) return;
  const unsigned grid = static_cast<unsigned>((B + kRowsPerBlock - 1) / kRowsPerBlock);
  mse_rows_kernel<<<grid, kThreads, 0, ctx.stream>>>(Y, T, B, O, scale, dY, row_loss);
  BL_CUDA_LAUNCHED("mse_rows_kernel");
}

void launch_reduce_stats(const LaunchCtx& ctx, const double* row_loss, const int32_t* row_hit, int B, float* stats) {
  // B == 0 writes zeros (the CPU's empty sums).
  reduce_stats_kernel<<<1, kReduceThreads, 0, ctx.stream>>>(row_loss, row_hit, B < 0 ? 0 : B, stats);
  BL_CUDA_LAUNCHED("reduce_stats_kernel");
}

void launch_gather_rows(const LaunchCtx& ctx, const float* src, const int32_t* idx, int B, int D, float* dst) {
  if (B <= 0 || D <= 0) return;
  gather_rows_kernel<<<grid_2d(ctx, B, D), kThreads, 0, ctx.stream>>>(src, idx, B, D, dst);
  BL_CUDA_LAUNCHED("gather_rows_kernel");
}

void launch_gather_labels(const LaunchCtx& ctx, const int32_t* src, const int32_t* idx, int B, int32_t* dst) {
  if (B <= 0) return;
  gather_labels_kernel<<<blocks_1d(ctx, B), kThreads, 0, ctx.stream>>>(src, idx, B, dst);
  BL_CUDA_LAUNCHED("gather_labels_kernel");
}

void launch_adam(const LaunchCtx& ctx, float* p, const float* g, float* m, float* v, size_t n, float step, float beta1,
                 float beta2, float eps, float weight_decay, float inv_sqrt_bc2) {
  if (n == 0) return;
  adam_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(p, g, m, v, n, step, beta1, beta2, eps, weight_decay,
                                                              inv_sqrt_bc2);
  BL_CUDA_LAUNCHED("adam_kernel");
}

void launch_sgd(const LaunchCtx& ctx, float* p, const float* g, float* vel, size_t n, float lr, float momentum,
                bool nesterov, float weight_decay) {
  if (n == 0) return;
  sgd_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(p, g, vel, n, lr, momentum, nesterov, weight_decay);
  BL_CUDA_LAUNCHED("sgd_kernel");
}

}  // namespace cuda
}  // namespace bl
