// A window of a frozen weight matrix, exactly as the full matrix holds it: host[r, c] =
// sample_weight(seed, stream, row0 + r, col0 + c, dist, a) for r < rows, c < cols (common/philox.h).
// Width-parallel training generates each rank's slice of hidden units with it. Defined in
// backend/cpu/cpu_weights.cpp (compiled without FMA contraction, so it rounds as fill_weights).
#pragma once
#include <cstdint>

#include "types.h"

namespace bl {

void fill_weights_window(float* host, int rows, int cols, int row0, int col0, uint64_t seed, uint32_t stream, Dist dist,
                         double a);

}  // namespace bl
