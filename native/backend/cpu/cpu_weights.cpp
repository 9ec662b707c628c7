// Frozen-weight generation on the CPU. This file is compiled with -ffp-contract=off so the
// double-precision transforms in common/philox.h round exactly as on CUDA.
#include "../../common/philox.h"
#include "../../common/thread_pool.h"
#include "../../common/weight_window.h"
#include "cpu_kernels.h"

namespace bl {

// host[rows, cols] = the full matrix's window at (row0, col0), serially (callers parallelise).
static void fill_window_rows(float* host, int rows, int cols, int row0, int col0, uint64_t seed, uint32_t stream,
                             Dist dist, double a) {
  const int d = static_cast<int>(dist);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      host[(size_t)r * cols + c] =
          sample_weight(seed, stream, static_cast<uint32_t>(row0 + r), static_cast<uint32_t>(col0 + c), d, a);
}

void fill_weights_window(float* host, int rows, int cols, int row0, int col0, uint64_t seed, uint32_t stream, Dist dist,
                         double a) {
  cpu_pool().parallel_for(rows, 16, [&](size_t r0, size_t r1) {
    fill_window_rows(host + r0 * cols, (int)(r1 - r0), cols, row0 + (int)r0, col0, seed, stream, dist, a);
  });
}

void cpu_fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) {
  fill_weights_window(W, rows, cols, 0, 0, seed, stream, dist, a);
}

void cpu_fill_weight_rows(float* W, int r0, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) {
  fill_window_rows(W, rows, cols, r0, 0, seed, stream, dist, a);
}

}  // namespace bl
