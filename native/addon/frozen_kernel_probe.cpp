// Kernel-probe handlers (probe_util.h) of the frozen-matrix ops: round_bf16 and the Frozen* ops.
// A frozen matrix W[N, K] is made on the device by frozen_fill (the backend's layout), so the
// product probes take its generator (seed, stream, dist, a) and precision (0 fp32, 1 bf16,
// 2 tf32) rather than values; frozen_read returns its values.
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "probe_util.h"

namespace bl {

namespace {

struct ProbeFrozen {
  DeviceBuffer buf;
  FrozenMatrix W;
};

// W from the job's N, K, precision, seed, stream, dist, a.
ProbeFrozen probe_frozen(const std::shared_ptr<Backend>& be, ProbeJob& j) {
  const int N = (int)probe_n(j, "N"), K = (int)probe_n(j, "K"), p = (int)probe_n(j, "precision");
  const int dist = (int)probe_n(j, "dist");
  require(N >= 1 && K >= 1 && p >= 0 && p <= 2 && dist >= 0 && dist <= 2, "E_INVALID_ARG",
          j.who + ": frozen matrices need N, K >= 1, precision 0..2 and dist 0..2");
  const Precision prec = static_cast<Precision>(p);
  ProbeFrozen f;
  f.buf = DeviceBuffer(be, be->frozen_bytes(N, K, prec));
  be->frozen_fill(f.buf.data(), N, K, prec, (uint64_t)probe_n(j, "seed"), (uint32_t)probe_n(j, "stream"),
                  static_cast<Dist>(dist), probe_n(j, "a"));
  f.W = FrozenMatrix{f.buf.data(), N, K, prec};
  return f;
}

}  // namespace

BL_PROBE(RoundBf16) {
  probe_f(j, "x");
  probe_on_device(be, j, [&](ProbeArrays& d) { be->round_bf16(d.F("x"), j.f["x"].size()); });
}

// W [N, K] = the matrix's values (widened).
BL_PROBE(FrozenFill) {
  ProbeFrozen f = probe_frozen(be, j);
  std::vector<float>& W = j.f["W"];
  W.assign((size_t)f.W.rows * f.W.cols, 0.0f);
  ProbeDev w(be, W);
  be->frozen_read(f.W, w.buf.f32());
  w.back(W);
}

// Same as frozen_fill (the read is the op under test there too); kept as its own probe so the op
// list has one handler per op.
BL_PROBE(FrozenRead) {
  ProbeFrozen f = probe_frozen(be, j);
  std::vector<float>& W = j.f["W"];
  W.assign((size_t)f.W.rows * f.W.cols, 0.0f);
  ProbeDev w(be, W);
  be->frozen_read(f.W, w.buf.f32());
  w.back(W);
}

// Y[M, N] = alpha X[M, K] W^T + beta Y.
BL_PROBE(FrozenMatmul) {
  ProbeFrozen f = probe_frozen(be, j);
  const int M = (int)probe_n(j, "M");
  require(M >= 1, "E_INVALID_ARG", j.who + ": frozen_matmul needs M >= 1");
  probe_f(j, "X", (size_t)M * f.W.cols);
  probe_f(j, "Y", (size_t)M * f.W.rows);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->frozen_matmul(M, (float)probe_n(j, "alpha"), d.F("X"), f.W.cols, f.W, (float)probe_n(j, "beta"), d.F("Y"),
                      f.W.rows);
  });
}

// dX[M, K] = alpha dY[M, N] W + beta dX.
BL_PROBE(FrozenMatmulBack) {
  ProbeFrozen f = probe_frozen(be, j);
  const int M = (int)probe_n(j, "M");
  require(M >= 1, "E_INVALID_ARG", j.who + ": frozen_matmul_back needs M >= 1");
  probe_f(j, "dY", (size_t)M * f.W.rows);
  probe_f(j, "dX", (size_t)M * f.W.cols);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->frozen_matmul_back(M, (float)probe_n(j, "alpha"), d.F("dY"), f.W.rows, f.W, (float)probe_n(j, "beta"),
                           d.F("dX"), f.W.cols);
  });
}

}  // namespace bl
