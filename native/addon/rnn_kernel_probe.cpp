// runRnnKernel(backend, op, args) -> Promise<outputs>: runs one of the RNN backend kernels
// (backend.h, "recurrent networks") on host arrays, for the float64 reference tests of
// test/rnn.kernels.test.ts. Inputs are copied to the device and every Float32Array argument is
// copied back after the op (outputs included), plus the named outputs the op creates.
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "async_job.h"
#include "probe_util.h"
#include "exports_registry.h"

namespace bl {

namespace {

using RnnProbeJob = ProbeJob;
std::vector<float>& pf(ProbeJob& j, const char* k, size_t need) { return probe_f(j, k, need); }
std::vector<int32_t>& pi(ProbeJob& j, const char* k, size_t need, int32_t lo, int32_t hi) {
  std::vector<int32_t>& v = probe_i(j, k, need);
  for (size_t q = 0; q < need; ++q)
    require(v[q] >= lo && v[q] < hi, "E_INVALID_ARG", std::string("runRnnKernel: '") + k + "' out of range");
  return v;
}
double pn(ProbeJob& j, const char* k) { return probe_n(j, k); }
bool has_f(RnnProbeJob& j, const char* k) { return j.f.count(k) > 0; }

// Device copies of every host array; copied back after the op.
struct DevArrays {
  std::shared_ptr<Backend> be;
  std::map<std::string, DeviceBuffer> f, i;
  DevArrays(std::shared_ptr<Backend> b, RnnProbeJob& j) : be(b) {
    for (auto& kv : j.f) {
      f[kv.first] = DeviceBuffer(be, kv.second.size() * 4 + 4);
      be->upload(f[kv.first].data(), kv.second.data(), kv.second.size() * 4);
    }
    for (auto& kv : j.i) {
      i[kv.first] = DeviceBuffer(be, kv.second.size() * 4 + 4);
      be->upload(i[kv.first].data(), kv.second.data(), kv.second.size() * 4);
    }
  }
  float* F(const char* k) { return f.at(k).f32(); }
  const int32_t* I(const char* k) { return i.at(k).i32(); }
  void back(RnnProbeJob& j) {
    be->synchronize();
    for (auto& kv : j.f) be->download(kv.second.data(), f[kv.first].data(), kv.second.size() * 4);
  }
};

void run_rnn_probe(std::shared_ptr<Backend> be, RnnProbeJob& j) {
  const std::string& op = j.op;
  auto num = [&](const char* k) { return pn(j, k); };
  if (op == "gather_seq") {
    const int B = (int)num("B"), T = (int)num("T"), D = (int)num("D"), N = (int)num("N");
    const size_t stride = (size_t)num("rowStride"), offset = (size_t)num("offset");
    auto& src = pf(j, "src", (size_t)N * stride);
    pi(j, "idx", B, 0, N);
    require(offset + (size_t)T * D <= stride, "E_INVALID_ARG", "runRnnKernel: window past the row");
    (void)src;
    j.f["dst"].assign((size_t)T * B * D, 0.0f);
    DevArrays d(be, j);
    be->gather_seq(d.F("src"), d.I("idx"), B, T, D, stride, offset, d.F("dst"));
    d.back(j);
  } else if (op == "axpby") {
    const size_t n = (size_t)num("n");
    pf(j, "x", n);
    const bool y = has_f(j, "y");
    if (y) pf(j, "y", n);
    j.f["out"].assign(n, 0.0f);
    DevArrays d(be, j);
    be->axpby(d.F("out"), (float)num("a"), d.F("x"), (float)num("b"), y ? d.F("y") : nullptr, n);
    d.back(j);
  } else if (op == "rnn_step") {
    const int B = (int)num("B"), H = (int)num("H");
    pf(j, "Z", (size_t)B * H); pf(j, "bias", H); pf(j, "Rp", (size_t)B * H);
    j.f["Rn"].assign((size_t)B * H, 0.0f);
    DevArrays d(be, j);
    be->rnn_step(d.F("Z"), d.F("bias"), d.F("Rp"), d.F("Rn"), B, H, static_cast<Act>((int)num("act")), (float)num("decay"),
                 (float)num("gain"));
    d.back(j);
  } else if (op == "rnn_step_backward") {
    const int B = (int)num("B"), H = (int)num("H");
    pf(j, "Dr", (size_t)B * H); pf(j, "Phi", (size_t)B * H);
    const bool dya = has_f(j, "DYA");
    if (dya) pf(j, "DYA", (size_t)B * H);
    j.f["dZ"].assign((size_t)B * H, 0.0f);
    DevArrays d(be, j);
    be->rnn_step_backward(d.F("Dr"), dya ? d.F("DYA") : nullptr, d.F("Phi"), d.F("dZ"), B, H, static_cast<Act>((int)num("act")),
                          (float)num("gain"));
    d.back(j);
  } else if (op == "seq_mse") {
    const int T = (int)num("T"), B = (int)num("B"), O = (int)num("O");
    pf(j, "Y", (size_t)T * B * O); pf(j, "Tg", (size_t)T * B * O); pf(j, "w", (size_t)T * B); pf(j, "v", (size_t)T * B);
    const bool prev = has_f(j, "Yprev");
    if (prev) pf(j, "Yprev", (size_t)B * O);
    j.f["dY"].assign((size_t)T * B * O, 0.0f);
    j.f["stats"].assign(2, 0.0f);
    DevArrays d(be, j);
    be->seq_mse(d.F("Y"), prev ? d.F("Yprev") : nullptr, d.F("Tg"), d.F("w"), d.F("v"), T, B, O, (float)num("scale"), d.F("dY"),
                d.F("stats"));
    d.back(j);
  } else if (op == "scatter_add_rows") {
    const int B = (int)num("B"), D = (int)num("D"), C = (int)num("C");
    pf(j, "src", (size_t)B * D); pf(j, "out", (size_t)C * D);
    pi(j, "idx", B, 0, C);
    DevArrays d(be, j);
    be->scatter_add_rows(d.F("src"), d.I("idx"), B, D, C, (float)num("alpha"), (float)num("beta"), d.F("out"));
    d.back(j);
  } else if (op == "column_dot") {
    const int R = (int)num("rows"), H = (int)num("H");
    pf(j, "A", (size_t)R * H); pf(j, "Bm", (size_t)R * H); pf(j, "out", H);
    DevArrays d(be, j);
    be->column_dot(d.F("A"), d.F("Bm"), R, H, (float)num("beta"), d.F("out"));
    d.back(j);
  } else if (op == "outer_trace") {
    const int B = (int)num("B"), H = (int)num("H"), K = (int)num("K");
    pf(j, "P", (size_t)B * H * K); pf(j, "D", (size_t)B * H); pf(j, "X", (size_t)B * K);
    DevArrays d(be, j);
    be->outer_trace(d.F("P"), d.F("D"), d.F("X"), B, H, K, (float)num("decay"), (float)num("gain"));
    d.back(j);
  } else if (op == "trace_grad") {
    const int B = (int)num("B"), H = (int)num("H"), K = (int)num("K");
    pf(j, "P", (size_t)B * H * K); pf(j, "E", (size_t)B * H); pf(j, "G", (size_t)H * K);
    DevArrays d(be, j);
    be->trace_grad(d.F("P"), d.F("E"), B, H, K, (float)num("beta"), d.F("G"));
    d.back(j);
  } else if (op == "sum_squares") {
    auto& x = pf(j, "x", 0);
    const size_t n = x.size();
    j.f["out"].assign(1, 0.0f);
    DevArrays d(be, j);
    be->sum_squares(d.F("x"), n, d.F("out"));
    d.back(j);
  } else if (op == "copy2d") {
    const int rows = (int)num("rows"), cols = (int)num("cols"), ldd = (int)num("ldd"), lds = (int)num("lds");
    require(cols <= ldd && cols <= lds, "E_INVALID_ARG", "runRnnKernel: cols > leading dimension");
    pf(j, "src", (size_t)rows * lds); pf(j, "dst", (size_t)rows * ldd);
    DevArrays d(be, j);
    be->copy2d(d.F("dst"), ldd, d.F("src"), lds, rows, cols);
    d.back(j);
  } else {
    fail("E_INVALID_ARG", "runRnnKernel: unknown op '" + op + "'");
  }
}

Napi::Value RunRnnKernel(const Napi::CallbackInfo& info) { return run_probe_call(info, "runRnnKernel", run_rnn_probe); }

void InitRnnKernelProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("runRnnKernel", Napi::Function::New(env, RunRnnKernel));
}

}  // namespace

BL_REGISTER_EXPORTS(InitRnnKernelProbe);

}  // namespace bl
