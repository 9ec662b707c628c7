// The kernel probe's handlers of the recurrent-network ops (backend.h, "recurrent networks"), for
// the float64 reference tests of test/rnn.kernels.test.ts (probe_util.h, kernel_probe.cpp). Inputs
// are copied to the device and every Float32Array argument is copied back after the op (outputs
// included), plus the named outputs the op creates.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "probe_util.h"

namespace bl {

namespace {

std::vector<float>& pf(ProbeJob& j, const char* k, size_t need) { return probe_f(j, k, need); }
bool has_f(ProbeJob& j, const char* k) { return j.f.count(k) > 0; }

BL_PROBE(RnnStep) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H");
  pf(j, "Z", (size_t)B * H);
  pf(j, "bias", H);
  pf(j, "Rp", (size_t)B * H);
  j.f["Rn"].assign((size_t)B * H, 0.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->rnn_step(d.F("Z"), d.F("bias"), d.F("Rp"), d.F("Rn"), B, H, probe_act(j), (float)probe_n(j, "decay"),
                 (float)probe_n(j, "gain"));
  });
}

BL_PROBE(RnnStepBackward) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H");
  pf(j, "Dr", (size_t)B * H);
  pf(j, "Phi", (size_t)B * H);
  const bool dya = has_f(j, "DYA");
  if (dya) pf(j, "DYA", (size_t)B * H);
  j.f["dZ"].assign((size_t)B * H, 0.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->rnn_step_backward(d.F("Dr"), dya ? d.F("DYA") : nullptr, d.F("Phi"), d.F("dZ"), B, H, probe_act(j),
                          (float)probe_n(j, "gain"));
  });
}

BL_PROBE(SeqMse) {
  const int T = probe_int(j, "T"), B = probe_int(j, "B"), O = probe_int(j, "O");
  pf(j, "Y", (size_t)T * B * O);
  pf(j, "Tg", (size_t)T * B * O);
  pf(j, "w", (size_t)T * B);
  pf(j, "v", (size_t)T * B);
  const bool prev = has_f(j, "Yprev");
  if (prev) pf(j, "Yprev", (size_t)B * O);
  j.f["dY"].assign((size_t)T * B * O, 0.0f);
  j.f["stats"].assign(2, 0.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->seq_mse(d.F("Y"), prev ? d.F("Yprev") : nullptr, d.F("Tg"), d.F("w"), d.F("v"), T, B, O,
                (float)probe_n(j, "scale"), d.F("dY"), d.F("stats"));
  });
}

BL_PROBE(OuterTrace) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  pf(j, "P", (size_t)B * H * K);
  pf(j, "D", (size_t)B * H);
  pf(j, "X", (size_t)B * K);
  const bool eprop = j.f.count("jd") > 0;  // optional jd [H * jdStride]: the e-prop form
  const int jd_stride = eprop ? (int)probe_n(j, "jdStride") : 1;
  if (eprop) pf(j, "jd", (size_t)H * jd_stride);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->outer_trace(d.F("P"), d.F("D"), d.F("X"), B, H, K, (float)probe_n(j, "decay"), (float)probe_n(j, "gain"),
                    eprop ? d.F("jd") : nullptr, jd_stride);
  });
}

BL_PROBE(TraceGrad) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  pf(j, "P", (size_t)B * H * K);
  pf(j, "E", (size_t)B * H);
  pf(j, "G", (size_t)H * K);
  probe_on_device(
      be, j, [&](ProbeArrays& d) { be->trace_grad(d.F("P"), d.F("E"), B, H, K, (float)probe_n(j, "beta"), d.F("G")); });
}

}  // namespace

}  // namespace bl
