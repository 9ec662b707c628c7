// bf16 frozen matrices on the CPU (backend.h, FrozenMatrix). Shapes: M rows of input, N outputs,
// K inputs; W[N, K].
//
// Layout (the same whichever kernel runs): W is cut into panels of kPanel = 32 rows (outputs),
// zero-padded; panel p holds, for each pair of inputs kp < Kp = ceil(K / 2), 32 words of two bf16
// (low half W[n, 2kp], high half W[n, 2kp + 1]): uint32 [Kp][32]. That is the operand order of
// AVX512-BF16's dot product (VDPBF16PS: lane j += a[2j] b[2j] + a[2j+1] b[2j+1]), so a register
// tile reads 32 outputs x 1 input pair with two loads. The weights are frozen: packed once.
//
// Products, Y[M, N] = alpha X W^T + beta Y: X rounded to bf16 (RNE), products exact, float32 sums.
//   kernel "avx512bf16": 12 x 32 register tiles of VDPBF16PS, K in blocks of kKBlock pairs, each
//     block's partial sums added to Y in block order; threads split the panels (every Y element
//     is summed by one thread in a fixed order: the result does not depend on the thread count).
//     Compiled with function-level target attributes and chosen at run time (CPUID), so portable
//     and prebuilt binaries have it too.
//   kernel "fallback": W widened to float32 a block of panels at a time, then the float gemm on
//     the rounded X (CPUs without AVX512-BF16, or BIASLEARN_BF16_KERNEL=fallback).
// dX = dY W (the product back through W): for at most 8 rows (an RNN step) straight from the
// panels with 512-bit float FMAs (each pair word widened in registers, lanes summed at the end);
// beyond, or without AVX-512, W is widened block by block and the float gemm runs on the rounded dY
// (the pair layout runs along K, not along N, so VDPBF16PS does not apply).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace bl {

constexpr int kBf16Panel = 32;

// Bytes of W[N, K] in the panel layout.
size_t cpu_bf16_bytes(int N, int K);
// Packs float values W[N, K] (any floats; each is rounded to bf16 here) into dst.
void cpu_bf16_pack(const float* W, int N, int K, void* dst);
// out[N, K] = the packed matrix's values, widened (exact).
void cpu_bf16_unpack(const void* packed, int N, int K, float* out);
// Y[M, N] = alpha * bf16(X)[M, K] W^T + beta * Y.
void cpu_bf16_matmul(int M, int N, int K, float alpha, const float* X, int ldx, const void* W, float beta, float* Y,
                     int ldy);
// dX[M, K] = alpha * bf16(dY)[M, N] W + beta * dX.
void cpu_bf16_matmul_back(int M, int N, int K, float alpha, const float* dY, int ldy, const void* W, float beta,
                          float* dX, int ldx);

// Peak microbenchmarks: `iters` rounds of 24 independent VDPBF16PS (bf16) or VFMADD (fp32, 512-bit)
// accumulations on the calling thread; returns the flops done (a multiply-add is 2), 0 when the
// CPU lacks the instructions.
double cpu_bf16_peak_flops(long iters);
double cpu_fp32_peak_flops(long iters);

// The kernel the products use: "avx512bf16" or "fallback". The CPU's AVX512-BF16 support
// (CPUID) decides unless BIASLEARN_BF16_KERNEL=fallback was set when the module loaded, or
// cpu_bf16_set_kernel() chose (tests).
std::string cpu_bf16_kernel();
bool cpu_bf16_hardware();
// "auto" (the CPU's choice) or "fallback"; throws E_INVALID_ARG for anything else.
void cpu_bf16_set_kernel(const std::string& which);

}  // namespace bl
