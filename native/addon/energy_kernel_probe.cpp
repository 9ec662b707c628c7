// The kernel probe's handlers of the energy-network ops (backend.h, "energy networks"), for the
// float64 reference tests of test/contrastive.kernels.test.ts (probe_util.h). Every Float32Array
// argument is copied back after the op, plus `delta` [1] when wantDelta is set.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "probe_util.h"

namespace bl {

namespace {

const float* opt(ProbeJob& j, ProbeArrays& d, const char* k) { return j.f.count(k) ? d.F(k) : nullptr; }

BL_PROBE(EnergyStep) {
  const int B = (int)probe_n(j, "B"), H = (int)probe_n(j, "H");
  const size_t n = (size_t)B * H;
  probe_f(j, "Z", n);
  probe_f(j, "U", n);
  probe_f(j, "D", n);
  probe_f(j, "bias", H);
  if (j.f.count("D2")) probe_f(j, "D2", n);
  if (j.f.count("T")) probe_f(j, "T", n);
  // the inline feedback F [B,Of] Wf [Of,H] (optional; both or neither)
  const int Of = j.f.count("F") ? (int)probe_n(j, "Of") : 0;
  if (Of > 0) {
    probe_f(j, "F", (size_t)B * Of);
    probe_f(j, "Wf", (size_t)Of * H);
  }
  const bool want = probe_n(j, "wantDelta") != 0;
  if (want) j.f["delta"].assign(1, -1.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->energy_step(d.F("Z"), d.F("U"), d.F("D"), opt(j, d, "D2"), Of > 0 ? d.F("F") : nullptr,
                    Of > 0 ? d.F("Wf") : nullptr, Of, d.F("bias"), opt(j, d, "T"), B, H, probe_act(j),
                    (float)probe_n(j, "eps"), (float)probe_n(j, "beta"), want ? d.F("delta") : nullptr);
  });
}

BL_PROBE(NarrowProduct) {
  const int B = (int)probe_n(j, "B"), K = (int)probe_n(j, "K"), O = (int)probe_n(j, "O");
  require(B >= 1 && K >= 1 && O >= 1, "E_INVALID_ARG", "runKernel: narrow_product needs B, K, O >= 1");
  probe_f(j, "A", (size_t)B * K);
  probe_f(j, "W", (size_t)O * K);
  j.f["C"].assign((size_t)B * O, -1.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) { be->narrow_product(d.F("A"), d.F("W"), B, K, O, d.F("C")); });
}

BL_PROBE(AdjointStep) {
  const int B = (int)probe_n(j, "B"), H = (int)probe_n(j, "H");
  const size_t n = (size_t)B * H;
  probe_f(j, "G", n);
  probe_f(j, "U", n);
  probe_f(j, "D", n);
  if (j.f.count("C")) probe_f(j, "C", n);
  const bool want = probe_n(j, "wantDelta") != 0;
  if (want) j.f["delta"].assign(1, -1.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->adjoint_step(d.F("G"), d.F("U"), d.F("D"), opt(j, d, "C"), B, H, probe_act(j), (float)probe_n(j, "eps"),
                     want ? d.F("delta") : nullptr);
  });
}

}  // namespace

}  // namespace bl
