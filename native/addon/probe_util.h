// Shared plumbing of the kernel probes (kernel_probe.cpp, multitask_kernel_probe.cpp,
// rnn_kernel_probe.cpp): run<Kind>Kernel(backend, op, args) copies args (numbers, booleans,
// Float32Arrays, Int32Arrays) into a ProbeJob, runs one backend kernel off the JS thread and
// returns every Float32Array of the job afterwards (inputs, outputs, and outputs the op added).
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

// A device copy of one host array; back() copies a float array back.
struct ProbeDev {
  std::shared_ptr<Backend> be;
  DeviceBuffer buf;
  ProbeDev(std::shared_ptr<Backend> b, const std::vector<float>& host);
  ProbeDev(std::shared_ptr<Backend> b, const std::vector<int32_t>& host);
  void back(std::vector<float>& host) { be->download(host.data(), buf.data(), host.size() * sizeof(float)); }
};

using ProbeFn = void (*)(std::shared_ptr<Backend>, ProbeJob&);

// Parses (backend, op, args), runs fn on a worker thread, resolves with the job's float arrays.
Napi::Value run_probe_call(const Napi::CallbackInfo& info, const char* who, ProbeFn fn);

}  // namespace bl
