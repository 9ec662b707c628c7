// Shared plumbing of the kernel probe: runKernel(backend, op, args) copies args (numbers, booleans,
// Float32Arrays, Int32Arrays) into a ProbeJob, runs one backend op off the JS thread and returns
// every Float32Array of the job afterwards (inputs, outputs, and outputs the op added). One
// handler per op of BL_OPS (backend.h), registered with BL_PROBE(Op) in kernel_probe.cpp (core and
// fused ops), multitask_kernel_probe.cpp and rnn_kernel_probe.cpp; the dispatch goes by the op
// list, and an op without a handler is reported by name (test/core.ops.test.ts walks them all).
// Test-only entry points; argument errors are BlErrors with codes like everywhere else.
#pragma once
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"

namespace bl {

struct ProbeJob {
  std::string who;  // the export's name, for messages
  std::string op;
  std::map<std::string, std::vector<float>> f;
  std::map<std::string, std::vector<int32_t>> i;
  std::map<std::string, double> n;
};

// The Float32Array `k`, at least `need` long (E_INVALID_ARG when absent, E_SHAPE when short).
std::vector<float>& probe_f(ProbeJob& j, const char* k, size_t need = 0);
// The Int32Array `k`, at least `need` long.
std::vector<int32_t>& probe_i(ProbeJob& j, const char* k, size_t need = 0);
// The number (or boolean as 0/1) `k`.
double probe_n(ProbeJob& j, const char* k);
// The integer `k` in [lo, hi] (default +-2^30): E_INVALID_ARG otherwise, never a wrapped conversion.
int64_t probe_int(ProbeJob& j, const char* k, int64_t lo = -(int64_t(1) << 30), int64_t hi = int64_t(1) << 30);
// The activation number `k` (default "act"), checked against BL_ACTIVATIONS.
Act probe_act(ProbeJob& j, const char* k = "act");

// A device copy of one host array; back() copies a float array back.
struct ProbeDev {
  std::shared_ptr<Backend> be;
  DeviceBuffer buf;
  ProbeDev(std::shared_ptr<Backend> b, const std::vector<float>& host);
  ProbeDev(std::shared_ptr<Backend> b, const std::vector<int32_t>& host);
  void back(std::vector<float>& host) { be->download(host.data(), buf.data(), host.size() * sizeof(float)); }
};

// Device copies of every array of a job (float and int32), copied back (floats) by back().
struct ProbeArrays {
  std::shared_ptr<Backend> be;
  std::map<std::string, DeviceBuffer> f, i;
  ProbeArrays(std::shared_ptr<Backend> b, ProbeJob& j);
  float* F(const char* k) { return f.at(k).f32(); }
  const int32_t* I(const char* k) { return i.at(k).i32(); }
  void back(ProbeJob& j);
};

// Copies every array of the job to the device, runs op(d) and copies the float arrays back.
template <typename Op>
void probe_on_device(const std::shared_ptr<Backend>& be, ProbeJob& j, Op op) {
  ProbeArrays d(be, j);
  op(d);
  d.back(j);
}

using ProbeFn = void (*)(std::shared_ptr<Backend>, ProbeJob&);

// The handler of each op, indexed by Op (null: none registered).
ProbeFn* probe_table();
int register_probe(Op op, ProbeFn fn);

// Defines and registers the probe handler of Op::name:  BL_PROBE(Gemm) { ... be->gemm(...); }
#define BL_PROBE(name)                                                                                      \
  static void bl_probe_##name(std::shared_ptr<Backend> be, ProbeJob& j);                                    \
  [[maybe_unused]] static const int bl_probe_registered_##name = register_probe(Op::name, bl_probe_##name); \
  static void bl_probe_##name(std::shared_ptr<Backend> be, ProbeJob& j)

// Parses (backend, op, args), runs the op's handler on a worker thread, resolves with the job's
// float arrays. `who` names the export in messages.
Napi::Value run_probe_call(const Napi::CallbackInfo& info, const char* who);

}  // namespace bl
