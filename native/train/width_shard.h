// Width-parallel (hidden-unit sharded) training of a one-hidden-layer model over `ranks` ranks
// (docs/distributed.md): this rank holds hidden units [offset, offset + H_r) of `full`, i.e. rows
// of the first layer's weights, columns of its biases (and gates) and of the readout weights, each
// generated exactly as in the full network (common/weight_window.h); readout biases are
// replicated. The [B, outputs] partial logits are summed over the ranks before the readout bias,
// so the loss and dLoss/dY are the same on every rank and each rank back-propagates to its slice.
#pragma once
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../common/error.h"
#include "../distributed/collective.h"

namespace bl {

struct WidthShard {
  int ranks = 1, offset = 0, full = 0;
  bool active() const { return ranks > 1; }
};

// y[0..n) (device) summed over the ranks through `c` (host round trip unless c works on device
// memory). `host` is the staging buffer, kept by the caller.
inline void allreduce_partial_logits(Backend& be, const BlCollective* c, float* y, size_t n, std::vector<float>& host) {
  require(c != nullptr, "E_DISTRIBUTED", "a width-parallel model needs its collective attached");
  char err[256] = {0};
  if (c->device_memory) {
    be.synchronize();
    if (c->allreduce_f32(y, n, err, sizeof err) != 0) fail("E_DISTRIBUTED", err);
    return;
  }
  host.resize(n);
  be.download(host.data(), y, n * sizeof(float));
  if (c->allreduce_f32(host.data(), n, err, sizeof err) != 0) fail("E_DISTRIBUTED", err);
  be.upload(y, host.data(), n * sizeof(float));
}

}  // namespace bl
