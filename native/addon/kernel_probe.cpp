// runKernel(backend, op, args) -> Promise<outputs>: runs one backend kernel on host arrays, for
// tests that check every kernel of every backend against a plain float64 reference (and the
// CUDA kernels against the CPU ones). Inputs are copied to the device, outputs copied back.
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

double need_n(ProbeJob& j, const char* k) { return probe_n(j, k); }
std::vector<float>& need_f(ProbeJob& j, const char* k) { return probe_f(j, k); }
void need_len(const std::vector<float>& v, size_t n, const char* k) {
  require(v.size() >= n, "E_SHAPE", std::string("runKernel: '") + k + "' needs " + std::to_string(n) + " elements, got " + std::to_string(v.size()));
}
using Dev = ProbeDev;

void run_probe(std::shared_ptr<Backend> be, ProbeJob& j) {
  const std::string& op = j.op;
  if (op == "gemm") {
    const int M = (int)need_n(j, "M"), N = (int)need_n(j, "N"), K = (int)need_n(j, "K");
    const bool ta = need_n(j, "transA") != 0, tb = need_n(j, "transB") != 0;
    auto &A = need_f(j, "A"), &B = need_f(j, "B"), &C = need_f(j, "C");
    need_len(A, (size_t)M * K, "A"); need_len(B, (size_t)K * N, "B"); need_len(C, (size_t)M * N, "C");
    Dev a(be, A), b(be, B), c(be, C);
    be->gemm(ta, tb, M, N, K, (float)need_n(j, "alpha"), a.buf.f32(), ta ? M : K, b.buf.f32(), tb ? K : N,
             (float)need_n(j, "beta"), c.buf.f32(), N);
    c.back(C);
  } else if (op == "bias_act" || op == "act_backward") {
    const int B = (int)need_n(j, "B"), H = (int)need_n(j, "H");
    const Act act = static_cast<Act>((int)need_n(j, "act"));
    auto& Z = need_f(j, op == "bias_act" ? "Z" : "G");
    auto& other = need_f(j, op == "bias_act" ? "bias" : "A");
    need_len(Z, (size_t)B * H, "Z/G"); need_len(other, op == "bias_act" ? (size_t)H : (size_t)B * H, "bias/A");
    Dev z(be, Z), o(be, other);
    if (op == "bias_act") be->bias_act(z.buf.f32(), o.buf.f32(), B, H, act);
    else be->act_backward(z.buf.f32(), o.buf.f32(), B, H, act);
    z.back(Z);
  } else if (op == "column_sum") {
    const int B = (int)need_n(j, "B"), H = (int)need_n(j, "H");
    auto &G = need_f(j, "G"), &out = need_f(j, "out");
    need_len(G, (size_t)B * H, "G"); need_len(out, H, "out");
    Dev g(be, G), o(be, out);
    be->column_sum(g.buf.f32(), B, H, (float)need_n(j, "beta"), o.buf.f32());
    o.back(out);
  } else if (op == "bias_act_readout") {
    const int B = (int)need_n(j, "B"), H = (int)need_n(j, "H"), O = (int)need_n(j, "O");
    const Act act = static_cast<Act>((int)need_n(j, "act"));
    auto &Z = need_f(j, "Z"), &bias = need_f(j, "bias"), &W = need_f(j, "W"), &c = need_f(j, "c");
    need_len(Z, (size_t)B * H, "Z"); need_len(bias, H, "bias"); need_len(W, (size_t)O * H, "W"); need_len(c, O, "c");
    require(O >= 1 && O <= 16, "E_INVALID_ARG", "bias_act_readout: O must be in [1, 16]");
    std::vector<float>& Y = j.f["Y"];
    Y.assign((size_t)B * O, 0.0f);
    Dev z(be, Z), b(be, bias), w(be, W), cc(be, c), y(be, Y);
    be->bias_act_readout(z.buf.f32(), b.buf.f32(), act, w.buf.f32(), cc.buf.f32(), B, H, O, y.buf.f32());
    z.back(Z);
    y.back(Y);
  } else if (op == "small_fanout_backward") {
    const int B = (int)need_n(j, "B"), O = (int)need_n(j, "O"), H = (int)need_n(j, "H");
    const Act act = static_cast<Act>((int)need_n(j, "act"));
    auto &dZ = need_f(j, "dZ"), &W = need_f(j, "W"), &A = need_f(j, "A"), &out = need_f(j, "out");
    need_len(dZ, (size_t)B * O, "dZ"); need_len(W, (size_t)O * H, "W"); need_len(A, (size_t)B * H, "A"); need_len(out, H, "out");
    require(O >= 1 && O <= 64, "E_INVALID_ARG", "small_fanout_backward: O must be in [1, 64]");
    Dev dz(be, dZ), w(be, W), a(be, A), o(be, out);
    be->small_fanout_backward(dz.buf.f32(), w.buf.f32(), a.buf.f32(), B, O, H, act, (float)need_n(j, "beta"), o.buf.f32());
    o.back(out);
  } else if (op == "softmax_xent" || op == "mse") {
    const int B = (int)need_n(j, "B"), O = (int)need_n(j, "O");
    auto& Y = need_f(j, "Y");
    need_len(Y, (size_t)B * O, "Y");
    std::vector<float>& dY = j.f["dY"];
    dY.assign((size_t)B * O, 0.0f);
    std::vector<float>& stats = j.f["stats"];
    stats.assign(2, 0.0f);
    Dev y(be, Y), d(be, dY), s(be, stats);
    if (op == "softmax_xent") {
      auto it = j.i.find("labels");
      require(it != j.i.end() && it->second.size() >= (size_t)B, "E_INVALID_ARG", "runKernel: softmax_xent needs labels");
      for (int b = 0; b < B; ++b) require(it->second[b] >= 0 && it->second[b] < O, "E_LABEL_RANGE", "label out of range");
      Dev l(be, it->second);
      be->softmax_xent(y.buf.f32(), l.buf.i32(), B, O, (float)need_n(j, "scale"), d.buf.f32(), s.buf.f32());
    } else {
      auto& T = need_f(j, "T");
      need_len(T, (size_t)B * O, "T");
      Dev t(be, T);
      be->mse(y.buf.f32(), t.buf.f32(), B, O, (float)need_n(j, "scale"), d.buf.f32(), s.buf.f32());
    }
    d.back(dY);
    s.back(stats);
  } else if (op == "gather_rows") {
    const int B = (int)need_n(j, "B"), D = (int)need_n(j, "D");
    auto& src = need_f(j, "src");
    auto it = j.i.find("idx");
    require(it != j.i.end() && it->second.size() >= (size_t)B, "E_INVALID_ARG", "runKernel: gather_rows needs idx");
    for (int b = 0; b < B; ++b)
      require(it->second[b] >= 0 && (size_t)(it->second[b] + 1) * D <= src.size(), "E_INVALID_ARG", "idx out of range");
    std::vector<float>& dst = j.f["dst"];
    dst.assign((size_t)B * D, 0.0f);
    Dev s(be, src), x(be, it->second), d(be, dst);
    be->gather_rows(s.buf.f32(), x.buf.i32(), B, D, d.buf.f32());
    d.back(dst);
  } else if (op == "adam" || op == "sgd") {
    auto &p = need_f(j, "p"), &g = need_f(j, "g");
    const size_t n = p.size();
    need_len(g, n, "g");
    if (op == "adam") {
      auto &m = need_f(j, "m"), &v = need_f(j, "v");
      need_len(m, n, "m"); need_len(v, n, "v");
      Dev dp(be, p), dg(be, g), dm(be, m), dv(be, v);
      be->adam(dp.buf.f32(), dg.buf.f32(), dm.buf.f32(), dv.buf.f32(), n, (float)need_n(j, "lr"), (float)need_n(j, "beta1"),
               (float)need_n(j, "beta2"), (float)need_n(j, "eps"), (float)need_n(j, "weightDecay"), (float)need_n(j, "bc1"),
               (float)need_n(j, "bc2"));
      dp.back(p); dm.back(m); dv.back(v);
    } else {
      auto& vel = need_f(j, "vel");
      need_len(vel, n, "vel");
      Dev dp(be, p), dg(be, g), dv(be, vel);
      be->sgd(dp.buf.f32(), dg.buf.f32(), dv.buf.f32(), n, (float)need_n(j, "lr"), (float)need_n(j, "momentum"),
              need_n(j, "nesterov") != 0, (float)need_n(j, "weightDecay"));
      dp.back(p); dv.back(vel);
    }
  } else {
    fail("E_INVALID_ARG", "runKernel: unknown op '" + op + "'");
  }
  be->synchronize();
}

}  // namespace

Napi::Value RunKernel(const Napi::CallbackInfo& info) { return run_probe_call(info, "runKernel", run_probe); }

}  // namespace bl
