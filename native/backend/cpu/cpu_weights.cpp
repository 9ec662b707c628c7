// Frozen-weight generation on the CPU. This file is compiled with -ffp-contract=off so the
// double-precision transforms in common/philox.h round exactly as on CUDA.
#include "../../common/philox.h"
#include "../../common/thread_pool.h"
#include "cpu_kernels.h"

namespace bl {

void cpu_fill_weights(float* W, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) {
  const int d = static_cast<int>(dist);
  cpu_pool().parallel_for(rows, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (int c = 0; c < cols; ++c)
        W[r * cols + c] = sample_weight(seed, stream, static_cast<uint32_t>(r), static_cast<uint32_t>(c), d, a);
  });
}

void cpu_fill_weight_rows(float* W, int r0, int rows, int cols, uint64_t seed, uint32_t stream, Dist dist, double a) {
  const int d = static_cast<int>(dist);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      W[(size_t)r * cols + c] =
          sample_weight(seed, stream, static_cast<uint32_t>(r0 + r), static_cast<uint32_t>(c), d, a);
}

}  // namespace bl
