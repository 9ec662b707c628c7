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
  auto num = [&](const char* k) { return probe_n(j, k); };
  const int B = (int)num("B"), H = (int)num("H");
  pf(j, "Z", (size_t)B * H); pf(j, "bias", H); pf(j, "Rp", (size_t)B * H);
  j.f["Rn"].assign((size_t)B * H, 0.0f);
  ProbeArrays d(be, j);
  be->rnn_step(d.F("Z"), d.F("bias"), d.F("Rp"), d.F("Rn"), B, H, probe_act(j), (float)num("decay"),
               (float)num("gain"));
  d.back(j);
}

BL_PROBE(RnnStepBackward) {
  auto num = [&](const char* k) { return probe_n(j, k); };
  const int B = (int)num("B"), H = (int)num("H");
  pf(j, "Dr", (size_t)B * H); pf(j, "Phi", (size_t)B * H);
  const bool dya = has_f(j, "DYA");
  if (dya) pf(j, "DYA", (size_t)B * H);
  j.f["dZ"].assign((size_t)B * H, 0.0f);
  ProbeArrays d(be, j);
  be->rnn_step_backward(d.F("Dr"), dya ? d.F("DYA") : nullptr, d.F("Phi"), d.F("dZ"), B, H, probe_act(j),
                        (float)num("gain"));
  d.back(j);
}

BL_PROBE(SeqMse) {
  auto num = [&](const char* k) { return probe_n(j, k); };
  const int T = (int)num("T"), B = (int)num("B"), O = (int)num("O");
  pf(j, "Y", (size_t)T * B * O); pf(j, "Tg", (size_t)T * B * O); pf(j, "w", (size_t)T * B); pf(j, "v", (size_t)T * B);
  const bool prev = has_f(j, "Yprev");
  if (prev) pf(j, "Yprev", (size_t)B * O);
  j.f["dY"].assign((size_t)T * B * O, 0.0f);
  j.f["stats"].assign(2, 0.0f);
  ProbeArrays d(be, j);
  be->seq_mse(d.F("Y"), prev ? d.F("Yprev") : nullptr, d.F("Tg"), d.F("w"), d.F("v"), T, B, O, (float)num("scale"), d.F("dY"),
              d.F("stats"));
  d.back(j);
}

BL_PROBE(OuterTrace) {
  auto num = [&](const char* k) { return probe_n(j, k); };
  const int B = (int)num("B"), H = (int)num("H"), K = (int)num("K");
  pf(j, "P", (size_t)B * H * K); pf(j, "D", (size_t)B * H); pf(j, "X", (size_t)B * K);
  ProbeArrays d(be, j);
  be->outer_trace(d.F("P"), d.F("D"), d.F("X"), B, H, K, (float)num("decay"), (float)num("gain"));
  d.back(j);
}

BL_PROBE(TraceGrad) {
  auto num = [&](const char* k) { return probe_n(j, k); };
  const int B = (int)num("B"), H = (int)num("H"), K = (int)num("K");
  pf(j, "P", (size_t)B * H * K); pf(j, "E", (size_t)B * H); pf(j, "G", (size_t)H * K);
  ProbeArrays d(be, j);
  be->trace_grad(d.F("P"), d.F("E"), B, H, K, (float)num("beta"), d.F("G"));
  d.back(j);
}

}  // namespace

}  // namespace bl
