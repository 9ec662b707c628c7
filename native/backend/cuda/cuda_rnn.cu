// The recurrent-network extension kernels (backend.h, "recurrent networks"; native/rnn) on CUDA.
// The CPU loops in cpu/cpu_backend.cpp are the spec: the same formulas (the activations of
// common/activation.h, seq_mse and sum_squares in double), the same operand order where it
// matters. Every reduction has a fixed order that depends only on the shape (trace_grad even
// keeps the CPU's: one thread per output, rows in order), so a run repeats bit for bit; results
// agree with the CPU to float rounding (nvcc contracts a*b+c into FMA here).
//
// Shapes: B batch, T (Tw) time steps, H hidden, O outputs, K trace width, D row width.
// Activations are time-major [T, B, D].
#include <cuda_runtime.h>

#include "../../common/activation.h"
#include "cuda_check.h"
#include "cuda_common.cuh"
#include "cuda_kernels.cuh"

namespace bl {
namespace cuda {

namespace {

// Block shapes kThreads, kColTile, kRowLanes, kReduceThreads, the grids blocks_1d and grid_2d and
// the fixed-order reductions: cuda_common.cuh.
constexpr int kTileX = 32;  // 2-D blocks (kTileX, kTileY): a warp covers 32 consecutive columns
constexpr int kTileY = 8;
constexpr size_t kSumChunk = 8192;  // sum_squares: about this many elements per partial
constexpr size_t kSumMaxParts = 512;

// Grid of (kTileX, kTileY) blocks over [rows, cols]: x tiles the columns, y strides the rows.
dim3 grid_tiles(const LaunchCtx& ctx, size_t rows, int cols) {
  size_t gx = (static_cast<size_t>(cols) + kTileX - 1) / kTileX;
  if (gx > static_cast<size_t>(ctx.max_blocks)) gx = ctx.max_blocks;
  size_t gy = (rows + kTileY - 1) / kTileY;
  size_t cap = static_cast<size_t>(ctx.max_blocks) / gx;
  if (cap < 1) cap = 1;
  if (gy > cap) gy = cap;
  if (gy > 65535) gy = 65535;
  return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
}

// ---------------------------------------------------------------- elementwise

// dst[(t * B + b) * D + d] = src[idx[b] * row_stride + offset + t * D + d]
__global__ void gather_seq_kernel(const float* __restrict__ src, const int32_t* __restrict__ idx, int B, int D,
                                  size_t row_stride, size_t offset, size_t n, float* __restrict__ dst) {
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const size_t r = i / D, d = i % D;
    const size_t t = r / B, b = r % B;
    dst[i] = src[static_cast<size_t>(idx[b]) * row_stride + offset + t * D + d];
  }
}

// out = a x + b y (out may alias x or y: no __restrict__).
__global__ void axpby_kernel(float* out, float a, const float* x, float b, const float* y, size_t n) {
  for (size_t i = global_id(); i < n; i += grid_stride()) out[i] = a * x[i] + b * y[i];
}
__global__ void scale_kernel(float* out, float a, const float* x, size_t n) {
  for (size_t i = global_id(); i < n; i += grid_stride()) out[i] = a * x[i];
}

// Z <- act(Z + bias), Rn = decay * Rp + gain * Z. blockIdx.y strides rows, x covers columns.
// Rn may alias Rp (read then written by the same thread).
template <Act A>
__global__ void rnn_step_kernel(float* __restrict__ Z, const float* __restrict__ bias, const float* Rp, float* Rn,
                                int B, int H, float decay, float gain) {
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    const size_t row = static_cast<size_t>(b) * H;
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x) {
      const float a = ActFn<A>::forward(Z[row + h] + bias[h]);
      Z[row + h] = a;
      Rn[row + h] = decay * Rp[row + h] + gain * a;
    }
  }
}

// d = Dr (+ DYA); Dr = d; dZ = gain * d * act'(Phi). dZ may alias DYA (read before written by the
// same thread).
template <Act A>
__global__ void rnn_step_backward_kernel(float* __restrict__ Dr, const float* DYA, const float* __restrict__ Phi,
                                         float* dZ, size_t n, float gain) {
  for (size_t i = global_id(); i < n; i += grid_stride()) {
    const float d = DYA ? Dr[i] + DYA[i] : Dr[i];
    Dr[i] = d;
    dZ[i] = gain * d * ActFn<A>::grad(Phi[i]);
  }
}

// P[r, k] = d * P[r, k] + (gain * D[r]) * X[b, k] for rows r = b * H + h, d = decay (+ gain * D[r] *
// jd[h * jd_stride] when jd: e-prop's diagonal Jacobian).
__global__ void outer_trace_kernel(float* __restrict__ P, const float* __restrict__ D, const float* __restrict__ X,
                                   size_t rows, int H, int K, float decay, float gain, const float* __restrict__ jd,
                                   int jd_stride) {
  for (size_t r = blockIdx.y * static_cast<size_t>(kTileY) + threadIdx.y; r < rows;
       r += static_cast<size_t>(gridDim.y) * kTileY) {
    const float s = gain * D[r];
    const float d = jd ? decay + s * jd[(r % H) * jd_stride] : decay;
    const float* x = X + (r / H) * K;
    float* p = P + r * K;
    for (int k = blockIdx.x * kTileX + threadIdx.x; k < K; k += gridDim.x * kTileX) p[k] = d * p[k] + s * x[k];
  }
}

// dst[r, 0:cols] = src[r, 0:cols]
__global__ void copy2d_kernel(float* __restrict__ dst, int ldd, const float* __restrict__ src, int lds, int rows,
                              int cols) {
  for (size_t r = blockIdx.y * static_cast<size_t>(kTileY) + threadIdx.y; r < static_cast<size_t>(rows);
       r += static_cast<size_t>(gridDim.y) * kTileY)
    for (int c = blockIdx.x * kTileX + threadIdx.x; c < cols; c += gridDim.x * kTileX)
      dst[r * ldd + c] = src[r * lds + c];
}

// ---------------------------------------------------------------- losses and reductions

// One thread per row r = t * B + b: the row's share of seq_mse in double, with the CPU's formulas
// (e = y - tg; g = 2 w e [+ 2 v (y - y_prev)] [- 2 v_next (y_next - y)]; dY = scale * g / O).
__global__ void seq_mse_rows_kernel(const float* __restrict__ Y, const float* __restrict__ Yprev,
                                    const float* __restrict__ Tg, const float* __restrict__ w,
                                    const float* __restrict__ v, int Tw, int B, int O, float scale,
                                    float* __restrict__ dY, double* __restrict__ row_loss,
                                    double* __restrict__ row_sq) {
  const size_t n = static_cast<size_t>(Tw) * B;
  const double invO = 1.0 / O;
  const double dscale = static_cast<double>(scale);
  for (size_t row = global_id(); row < n; row += grid_stride()) {
    const size_t t = row / B, b = row % B;
    const double wt = w[row], vt = v[row];
    const double vn = t + 1 < static_cast<size_t>(Tw) ? static_cast<double>(v[row + B]) : 0.0;
    const float* y = Y + row * O;
    const float* prev = t > 0 ? Y + (row - B) * O : (Yprev ? Yprev + b * O : nullptr);
    const float* next = t + 1 < static_cast<size_t>(Tw) ? Y + (row + B) * O : nullptr;
    double se = 0.0, ve = 0.0;
    for (int o = 0; o < O; ++o) {
      const double e = static_cast<double>(y[o]) - Tg[row * O + o];
      se += wt * e * e;
      double g = 2.0 * wt * e;
      if (prev) {
        const double dv = static_cast<double>(y[o]) - prev[o];
        ve += vt * dv * dv;
        g += 2.0 * vt * dv;
      }
      if (next) g -= 2.0 * vn * (static_cast<double>(next[o]) - y[o]);
      if (dY) dY[row * O + o] = static_cast<float>(dscale * g * invO);
    }
    row_loss[row] = (se + ve) * invO;
    row_sq[row] = se * invO;
  }
}

// stats[0] = float(sum a), stats[1] = float(sum b). One block: thread i sums i, i + 256, ... in
// order, then a fixed tree.
__global__ void reduce_pair_kernel(const double* __restrict__ a, const double* __restrict__ b, size_t n,
                                   float* __restrict__ stats) {
  __shared__ double sa[kReduceThreads];
  __shared__ double sb[kReduceThreads];
  const int i = threadIdx.x;
  double x = 0.0, y = 0.0;
  for (size_t r = i; r < n; r += kReduceThreads) {
    x += a[r];
    y += b[r];
  }
  block_sum_pair(sa, sb, i, x, y, stats);
}

// out[H] = beta * out + sum_r A[r, :] * Bm[r, :]. Block (kColTile, kRowLanes) per 32 columns:
// lane ty sums rows ty, ty + 32, ... in order, then a fixed tree (as column_sum_kernel).
__global__ void column_dot_kernel(const float* __restrict__ A, const float* __restrict__ Bm, int rows, int H,
                                  float beta, float* __restrict__ out) {
  __shared__ float part[kRowLanes][kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col = blockIdx.x * kColTile + tx;
  float acc = 0.0f;
  if (col < H)
    for (int r = ty; r < rows; r += kRowLanes) {
      const size_t i = static_cast<size_t>(r) * H + col;
      acc += A[i] * Bm[i];
    }
  part[ty][tx] = acc;
  row_lanes_tree_sum(part, tx, ty);
  if (ty == 0 && col < H) out[col] = (beta == 0.0f ? 0.0f : beta * out[col]) + part[0][tx];
}

// G[h, k] = (beta == 0 ? 0 : beta * G) + E[0,h] P[0,h,k] + E[1,h] P[1,h,k] + ...: one thread per
// output (x: k, coalesced reads of P; y: h), rows in order as on the CPU.
__global__ void trace_grad_kernel(const float* __restrict__ P, const float* __restrict__ E, int B, int H, int K,
                                  float beta, float* __restrict__ G) {
  for (int h = blockIdx.y * kTileY + threadIdx.y; h < H; h += gridDim.y * kTileY)
    for (int k = blockIdx.x * kTileX + threadIdx.x; k < K; k += gridDim.x * kTileX) {
      float* g = G + static_cast<size_t>(h) * K + k;
      float acc = beta == 0.0f ? 0.0f : beta * *g;
      for (int b = 0; b < B; ++b) {
        const size_t bh = static_cast<size_t>(b) * H + h;
        acc += E[bh] * P[bh * K + k];
      }
      *g = acc;
    }
}

// parts[blockIdx.x] = sum of x^2 (double) over i = blockIdx.x * 256 + t + j * gridDim.x * 256:
// thread sums in order, then a fixed tree.
__global__ void sum_squares_parts_kernel(const float* __restrict__ x, size_t n, double* __restrict__ parts) {
  __shared__ double s[kReduceThreads];
  const int t = threadIdx.x;
  double acc = 0.0;
  for (size_t i = blockIdx.x * static_cast<size_t>(kReduceThreads) + t; i < n;
       i += static_cast<size_t>(gridDim.x) * kReduceThreads) {
    const double v = x[i];
    acc += v * v;
  }
  s[t] = acc;
  block_tree_sum<kReduceThreads>(s, t);
  if (t == 0) parts[blockIdx.x] = s[0];
}

// out[0] = float(sum parts[0 .. P)), one block, fixed order.
__global__ void sum_parts_kernel(const double* __restrict__ parts, size_t P, float* __restrict__ out) {
  __shared__ double s[kReduceThreads];
  const int t = threadIdx.x;
  double acc = 0.0;
  for (size_t i = t; i < P; i += kReduceThreads) acc += parts[i];
  s[t] = acc;
  block_tree_sum<kReduceThreads>(s, t);
  if (t == 0) out[0] = static_cast<float>(s[0]);
}

}  // namespace

// ---------------------------------------------------------------- launchers

void launch_gather_seq(const LaunchCtx& ctx, const float* src, const int32_t* idx, int B, int T, int D,
                       size_t row_stride, size_t offset, float* dst) {
  if (B <= 0 || T <= 0 || D <= 0) return;
  const size_t n = static_cast<size_t>(T) * B * D;
  gather_seq_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(src, idx, B, D, row_stride, offset, n, dst);
  BL_CUDA_LAUNCHED("gather_seq_kernel");
}

void launch_axpby(const LaunchCtx& ctx, float* out, float a, const float* x, float b, const float* y, size_t n) {
  if (n == 0) return;
  if (y && b != 0.0f) {
    axpby_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(out, a, x, b, y, n);
    BL_CUDA_LAUNCHED("axpby_kernel");
  } else {
    scale_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(out, a, x, n);
    BL_CUDA_LAUNCHED("scale_kernel");
  }
}

void launch_rnn_step(const LaunchCtx& ctx, float* Z, const float* bias, const float* Rp, float* Rn, int B, int H,
                     Act act, float decay, float gain) {
  if (B <= 0 || H <= 0) return;
  const dim3 grid = grid_2d(ctx, B, H);
  dispatch_act(act, [&](auto tag) {
    rnn_step_kernel<decltype(tag)::value><<<grid, kThreads, 0, ctx.stream>>>(Z, bias, Rp, Rn, B, H, decay, gain);
  });
  BL_CUDA_LAUNCHED("rnn_step_kernel");
}

void launch_rnn_step_backward(const LaunchCtx& ctx, float* Dr, const float* DYA, const float* Phi, float* dZ, int B,
                              int H, Act act, float gain) {
  if (B <= 0 || H <= 0) return;
  const size_t n = static_cast<size_t>(B) * H;
  const unsigned grid = blocks_1d(ctx, n);
  dispatch_act(act, [&](auto tag) {
    rnn_step_backward_kernel<decltype(tag)::value><<<grid, kThreads, 0, ctx.stream>>>(Dr, DYA, Phi, dZ, n, gain);
  });
  BL_CUDA_LAUNCHED("rnn_step_backward_kernel");
}

void launch_seq_mse_rows(const LaunchCtx& ctx, const float* Y, const float* Yprev, const float* Tg, const float* w,
                         const float* v, int Tw, int B, int O, float scale, float* dY, double* row_loss,
                         double* row_sq) {
  if (Tw <= 0 || B <= 0) return;
  const size_t n = static_cast<size_t>(Tw) * B;
  seq_mse_rows_kernel<<<blocks_1d(ctx, n), kThreads, 0, ctx.stream>>>(Y, Yprev, Tg, w, v, Tw, B, O, scale, dY, row_loss,
                                                                      row_sq);
  BL_CUDA_LAUNCHED("seq_mse_rows_kernel");
}

void launch_reduce_pair(const LaunchCtx& ctx, const double* a, const double* b, size_t n, float* stats) {
  reduce_pair_kernel<<<1, kReduceThreads, 0, ctx.stream>>>(a, b, n, stats);
  BL_CUDA_LAUNCHED("reduce_pair_kernel");
}

void launch_column_dot(const LaunchCtx& ctx, const float* A, const float* Bm, int rows, int H, float beta, float* out) {
  if (H <= 0) return;
  // rows == 0 still writes out = beta * out (an empty sum), as the CPU does.
  const dim3 block(kColTile, kRowLanes);
  column_dot_kernel<<<grid_column_tiles(H), block, 0, ctx.stream>>>(A, Bm, rows < 0 ? 0 : rows, H, beta, out);
  BL_CUDA_LAUNCHED("column_dot_kernel");
}

void launch_outer_trace(const LaunchCtx& ctx, float* P, const float* D, const float* X, int B, int H, int K,
                        float decay, float gain, const float* jd, int jd_stride) {
  if (B <= 0 || H <= 0 || K <= 0) return;
  const size_t rows = static_cast<size_t>(B) * H;
  outer_trace_kernel<<<grid_tiles(ctx, rows, K), dim3(kTileX, kTileY), 0, ctx.stream>>>(P, D, X, rows, H, K, decay,
                                                                                        gain, jd, jd_stride);
  BL_CUDA_LAUNCHED("outer_trace_kernel");
}

void launch_trace_grad(const LaunchCtx& ctx, const float* P, const float* E, int B, int H, int K, float beta,
                       float* G) {
  if (H <= 0 || K <= 0) return;
  // B == 0 still writes G = beta * G.
  const size_t gx = (static_cast<size_t>(K) + kTileX - 1) / kTileX;
  size_t gy = (static_cast<size_t>(H) + kTileY - 1) / kTileY;
  if (gy > 65535) gy = 65535;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  trace_grad_kernel<<<grid, dim3(kTileX, kTileY), 0, ctx.stream>>>(P, E, B < 0 ? 0 : B, H, K, beta, G);
  BL_CUDA_LAUNCHED("trace_grad_kernel");
}

size_t sum_squares_parts(size_t n) {
  size_t p = (n + kSumChunk - 1) / kSumChunk;
  if (p < 1) p = 1;
  if (p > kSumMaxParts) p = kSumMaxParts;
  return p;
}

void launch_sum_squares(const LaunchCtx& ctx, const float* x, size_t n, double* parts, float* out) {
  const size_t P = sum_squares_parts(n);
  sum_squares_parts_kernel<<<static_cast<unsigned>(P), kReduceThreads, 0, ctx.stream>>>(x, n, parts);
  BL_CUDA_LAUNCHED("sum_squares_parts_kernel");
  sum_parts_kernel<<<1, kReduceThreads, 0, ctx.stream>>>(parts, P, out);
  BL_CUDA_LAUNCHED("sum_parts_kernel");
}

void launch_copy2d(const LaunchCtx& ctx, float* dst, int ldd, const float* src, int lds, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  copy2d_kernel<<<grid_tiles(ctx, static_cast<size_t>(rows), cols), dim3(kTileX, kTileY), 0, ctx.stream>>>(
      dst, ldd, src, lds, rows, cols);
  BL_CUDA_LAUNCHED("copy2d_kernel");
}

}  // namespace cuda
}  // namespace bl
