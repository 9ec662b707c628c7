// The kernel probe's handlers of the multi-task ops (backend.h, "multi-task"), for the float64
// reference tests in test/multitask.kernels.test.ts (probe_util.h, kernel_probe.cpp). Inputs are
// copied to the device, outputs copied back; task ids are validated here (the kernels trust their
// callers).
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "async_job.h"
#include "probe_util.h"

namespace bl {

namespace {

std::vector<float>& need_f(ProbeJob& j, const char* k, size_t len) { return probe_f(j, k, len); }
std::vector<int32_t>& need_i(ProbeJob& j, const char* k, size_t len) { return probe_i(j, k, len); }
double need_n(ProbeJob& j, const char* k) { return probe_n(j, k); }
void check_tasks(const std::vector<int32_t>& task, int B, int K) {
  require(K >= 1, "E_INVALID_ARG", "runMultitaskKernel: K must be >= 1");
  for (int b = 0; b < B; ++b)
    if (task[b] < 0 || task[b] >= K)
      fail("E_INVALID_ARG", "task id " + std::to_string(task[b]) + " out of range [0, " + std::to_string(K) +
                                ") at row " + std::to_string(b));
}

using Dev = ProbeDev;

BL_PROBE(BiasActGather) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  const Act act = probe_act(j);
  auto& Z = need_f(j, "Z", (size_t)B * H);
  auto& bias = need_f(j, "biases", (size_t)K * H);
  auto& task = need_i(j, "task", B);
  check_tasks(task, B, K);
  Dev z(be, Z), bb(be, bias), t(be, task);
  be->bias_act_gather(z.buf.f32(), bb.buf.f32(), t.buf.i32(), B, H, K, act);
  z.back(Z);
}

BL_PROBE(ColumnSumScatter) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  auto& G = need_f(j, "G", (size_t)B * H);
  auto& task = need_i(j, "task", B);
  check_tasks(task, B, K);
  std::vector<float>& out = j.f["out"];
  out.assign((size_t)K * H, 12345.0f);  // garbage: the kernel must overwrite every element
  Dev g(be, G), t(be, task), o(be, out);
  be->column_sum_scatter(g.buf.f32(), t.buf.i32(), B, H, K, o.buf.f32());
  o.back(out);
}

BL_PROBE(SoftmaxXentTask) {
  const int B = probe_int(j, "B"), R = probe_int(j, "R"), K = probe_int(j, "K");
  auto& Y = need_f(j, "logits", (size_t)B * R);
  auto& labels = need_i(j, "labels", B);
  auto& task = need_i(j, "task", B);
  auto& off = need_i(j, "off", K);
  auto& cls = need_i(j, "classes", K);
  check_tasks(task, B, K);
  for (int k = 0; k < K; ++k)
    require(off[k] >= 0 && cls[k] >= 1 && off[k] + cls[k] <= R, "E_INVALID_ARG", "runMultitaskKernel: bad off/classes");
  for (int b = 0; b < B; ++b)
    require(labels[b] >= 0 && labels[b] < cls[task[b]], "E_LABEL_RANGE", "label out of range");
  std::vector<float>& d = j.f["dlogits"];
  d.assign((size_t)B * R, 777.0f);
  std::vector<float>& stats = j.f["stats"];
  stats.assign((size_t)2 * K, 777.0f);
  Dev y(be, Y), l(be, labels), t(be, task), of(be, off), c(be, cls), dd(be, d), s(be, stats);
  be->softmax_xent_task(y.buf.f32(), l.buf.i32(), t.buf.i32(), of.buf.i32(), c.buf.i32(), B, R, K,
                        (float)need_n(j, "scale"), dd.buf.f32(), s.buf.f32());
  dd.back(d);
  s.back(stats);
}

BL_PROBE(TaskGates) {
  auto& theta = need_f(j, "theta", 0);
  std::vector<float>& gates = j.f["gates"];
  gates.assign(theta.size(), 0.0f);
  Dev th(be, theta), g(be, gates);
  be->task_gates(th.buf.f32(), theta.size(), (float)need_n(j, "slope"), need_n(j, "hard") != 0, g.buf.f32());
  g.back(gates);
}

BL_PROBE(GateRows) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  auto& U = need_f(j, "U", (size_t)B * H);
  auto& gates = need_f(j, "gates", (size_t)K * H);
  auto& task = need_i(j, "task", B);
  check_tasks(task, B, K);
  std::vector<float>& A = j.f["A"];
  A.assign((size_t)B * H, 0.0f);
  Dev u(be, U), g(be, gates), t(be, task), a(be, A);
  be->gate_rows(u.buf.f32(), g.buf.f32(), t.buf.i32(), B, H, a.buf.f32());
  a.back(A);
}

BL_PROBE(GateBackward) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  auto& dA = need_f(j, "dA", (size_t)B * H);
  auto& U = need_f(j, "U", (size_t)B * H);
  auto& gates = need_f(j, "gates", (size_t)K * H);
  auto& task = need_i(j, "task", B);
  check_tasks(task, B, K);
  const bool in_place = j.n.count("inPlace") && j.n["inPlace"] != 0;
  std::vector<float>& dtheta = j.f["dtheta"];
  dtheta.assign((size_t)K * H, 999.0f);
  std::vector<float>& dU = j.f["dU"];
  dU.assign((size_t)B * H, 0.0f);
  Dev da(be, dA), u(be, U), g(be, gates), t(be, task), dt(be, dtheta), du(be, dU);
  be->gate_backward(da.buf.f32(), u.buf.f32(), g.buf.f32(), t.buf.i32(), B, H, K, (float)need_n(j, "slope"),
                    dt.buf.f32(), in_place ? da.buf.f32() : du.buf.f32());
  dt.back(dtheta);
  if (in_place)
    da.back(dU);
  else
    du.back(dU);
}

BL_PROBE(TaskMoments) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), K = probe_int(j, "K");
  auto& A = need_f(j, "A", (size_t)B * H);
  auto& task = need_i(j, "task", B);
  check_tasks(task, B, K);
  const bool has_shift = j.f.count("shift") > 0;
  std::vector<float> shift_host = has_shift ? need_f(j, "shift", (size_t)K * H) : std::vector<float>(1, 0.0f);
  std::vector<float>& out = j.f["out"];
  out.assign((size_t)3 * K * H, 555.0f);
  Dev a(be, A), t(be, task), sh(be, shift_host), o(be, out);
  be->task_moments(a.buf.f32(), t.buf.i32(), has_shift ? sh.buf.f32() : nullptr, B, H, K, (float)need_n(j, "threshold"),
                   o.buf.f32());
  o.back(out);
}

}  // namespace

}  // namespace bl
