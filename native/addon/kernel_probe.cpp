// runKernel(backend, op, args) -> Promise<outputs>: runs one backend op (any of BL_OPS) on host
// arrays, for tests that check every op of every backend against a plain float64 reference (and
// the CUDA kernels against the CPU ones). Inputs are copied to the device, outputs copied back.
// This file holds the handlers of the core and fused ops; multitask_kernel_probe.cpp and
// rnn_kernel_probe.cpp those of the model-kind ops (probe_util.h).
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "exports_registry.h"
#include "probe_util.h"

namespace bl {

namespace {

double need_n(ProbeJob& j, const char* k) { return probe_n(j, k); }
std::vector<float>& need_f(ProbeJob& j, const char* k) { return probe_f(j, k); }
void need_len(const std::vector<float>& v, size_t n, const char* k) {
  require(
      v.size() >= n, "E_SHAPE",
      std::string("runKernel: '") + k + "' needs " + std::to_string(n) + " elements, got " + std::to_string(v.size()));
}
std::vector<int32_t>& need_i(ProbeJob& j, const char* k, size_t need, int32_t lo, int32_t hi) {
  std::vector<int32_t>& v = probe_i(j, k, need);
  for (size_t q = 0; q < need; ++q)
    require(v[q] >= lo && v[q] < hi, "E_INVALID_ARG", j.who + ": '" + k + "' out of range");
  return v;
}
using Dev = ProbeDev;

// ---- core ops

// W[rows, cols] from (seed, stream, dist, a); dist 0 uniform, 1 normal, 2 zeros (common/types.h).
BL_PROBE(FillWeights) {
  const int rows = probe_int(j, "rows"), cols = probe_int(j, "cols"), dist = probe_int(j, "dist");
  require(rows >= 1 && cols >= 1 && dist >= 0 && dist <= 2, "E_INVALID_ARG",
          "runKernel: fill_weights needs rows, cols >= 1 and dist 0..2");
  std::vector<float>& W = j.f["W"];
  W.assign((size_t)rows * cols, 0.0f);
  Dev w(be, W);
  be->fill_weights(w.buf.f32(), rows, cols, (uint64_t)probe_int(j, "seed", 0, (int64_t(1) << 53) - 1),
                   (uint32_t)probe_int(j, "stream", 0, 0xffffffffll), static_cast<Dist>(dist), need_n(j, "a"));
  w.back(W);
}

BL_PROBE(Gemm) {
  const int M = probe_int(j, "M"), N = probe_int(j, "N"), K = probe_int(j, "K");
  const bool ta = need_n(j, "transA") != 0, tb = need_n(j, "transB") != 0;
  auto &A = need_f(j, "A"), &B = need_f(j, "B"), &C = need_f(j, "C");
  need_len(A, (size_t)M * K, "A");
  need_len(B, (size_t)K * N, "B");
  need_len(C, (size_t)M * N, "C");
  Dev a(be, A), b(be, B), c(be, C);
  be->gemm(ta, tb, M, N, K, (float)need_n(j, "alpha"), a.buf.f32(), ta ? M : K, b.buf.f32(), tb ? K : N,
           (float)need_n(j, "beta"), c.buf.f32(), N);
  c.back(C);
}

BL_PROBE(BiasAct) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H");
  const Act act = probe_act(j);
  auto &Z = need_f(j, "Z"), &bias = need_f(j, "bias");
  need_len(Z, (size_t)B * H, "Z");
  need_len(bias, H, "bias");
  Dev z(be, Z), o(be, bias);
  be->bias_act(z.buf.f32(), o.buf.f32(), B, H, act);
  z.back(Z);
}

BL_PROBE(ActBackward) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H");
  const Act act = probe_act(j);
  auto &G = need_f(j, "G"), &A = need_f(j, "A");
  need_len(G, (size_t)B * H, "G");
  need_len(A, (size_t)B * H, "A");
  Dev g(be, G), a(be, A);
  be->act_backward(g.buf.f32(), a.buf.f32(), B, H, act);
  g.back(G);
}

BL_PROBE(ColumnSum) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H");
  auto &G = need_f(j, "G"), &out = need_f(j, "out");
  need_len(G, (size_t)B * H, "G");
  need_len(out, H, "out");
  Dev g(be, G), o(be, out);
  be->column_sum(g.buf.f32(), B, H, (float)need_n(j, "beta"), o.buf.f32());
  o.back(out);
}

// Outputs dY[B,O] and stats[2] of softmax_xent (with Int32Array labels) or mse (with T).
void run_loss(std::shared_ptr<Backend> be, ProbeJob& j, bool xent) {
  const int B = probe_int(j, "B"), O = probe_int(j, "O");
  auto& Y = need_f(j, "Y");
  need_len(Y, (size_t)B * O, "Y");
  std::vector<float>& dY = j.f["dY"];
  dY.assign((size_t)B * O, 0.0f);
  std::vector<float>& stats = j.f["stats"];
  stats.assign(2, 0.0f);
  Dev y(be, Y), d(be, dY), s(be, stats);
  if (xent) {
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
}

BL_PROBE(SoftmaxXent) { run_loss(be, j, true); }
BL_PROBE(Mse) { run_loss(be, j, false); }

BL_PROBE(GatherRows) {
  const int B = probe_int(j, "B"), D = probe_int(j, "D");
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
}

// dst[B] = src[idx[b]] on int32 labels; returned as Float32Array "dst" (exact below 2^24).
BL_PROBE(GatherLabels) {
  const int B = probe_int(j, "B");
  auto& src = probe_i(j, "src", 1);
  auto& idx = need_i(j, "idx", B, 0, (int32_t)src.size());
  Dev s(be, src), x(be, idx), d(be, std::vector<int32_t>((size_t)B, 0));
  be->gather_labels(s.buf.i32(), x.buf.i32(), B, d.buf.i32());
  std::vector<int32_t> host((size_t)B);
  be->download(host.data(), d.buf.data(), host.size() * sizeof(int32_t));
  j.f["dst"].assign(host.begin(), host.end());
}

BL_PROBE(Adam) {
  auto &p = need_f(j, "p"), &g = need_f(j, "g"), &m = need_f(j, "m"), &v = need_f(j, "v");
  const size_t n = p.size();
  need_len(g, n, "g");
  need_len(m, n, "m");
  need_len(v, n, "v");
  Dev dp(be, p), dg(be, g), dm(be, m), dv(be, v);
  be->adam(dp.buf.f32(), dg.buf.f32(), dm.buf.f32(), dv.buf.f32(), n, (float)need_n(j, "lr"), (float)need_n(j, "beta1"),
           (float)need_n(j, "beta2"), (float)need_n(j, "eps"), (float)need_n(j, "weightDecay"), (float)need_n(j, "bc1"),
           (float)need_n(j, "bc2"));
  dp.back(p);
  dm.back(m);
  dv.back(v);
}

BL_PROBE(Sgd) {
  auto &p = need_f(j, "p"), &g = need_f(j, "g"), &vel = need_f(j, "vel");
  const size_t n = p.size();
  need_len(g, n, "g");
  need_len(vel, n, "vel");
  Dev dp(be, p), dg(be, g), dv(be, vel);
  be->sgd(dp.buf.f32(), dg.buf.f32(), dv.buf.f32(), n, (float)need_n(j, "lr"), (float)need_n(j, "momentum"),
          need_n(j, "nesterov") != 0, (float)need_n(j, "weightDecay"));
  dp.back(p);
  dv.back(vel);
}

// ---- generic array ops

BL_PROBE(Axpby) {
  const size_t n = (size_t)need_n(j, "n");
  probe_f(j, "x", n);
  const bool y = j.f.count("y") > 0;
  if (y) probe_f(j, "y", n);
  j.f["out"].assign(n, 0.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->axpby(d.F("out"), (float)need_n(j, "a"), d.F("x"), (float)need_n(j, "b"), y ? d.F("y") : nullptr, n);
  });
}

BL_PROBE(Copy2d) {
  const int rows = probe_int(j, "rows"), cols = probe_int(j, "cols"), ldd = probe_int(j, "ldd"),
            lds = probe_int(j, "lds");
  require(cols <= ldd && cols <= lds, "E_INVALID_ARG", j.who + ": cols > leading dimension");
  probe_f(j, "src", (size_t)rows * lds);
  probe_f(j, "dst", (size_t)rows * ldd);
  probe_on_device(be, j, [&](ProbeArrays& d) { be->copy2d(d.F("dst"), ldd, d.F("src"), lds, rows, cols); });
}

BL_PROBE(SumSquares) {
  const size_t n = probe_f(j, "x", 0).size();
  j.f["out"].assign(1, 0.0f);
  probe_on_device(be, j, [&](ProbeArrays& d) { be->sum_squares(d.F("x"), n, d.F("out")); });
}

BL_PROBE(ColumnDot) {
  const int R = probe_int(j, "rows"), H = probe_int(j, "H");
  probe_f(j, "A", (size_t)R * H);
  probe_f(j, "Bm", (size_t)R * H);
  probe_f(j, "out", H);
  probe_on_device(
      be, j, [&](ProbeArrays& d) { be->column_dot(d.F("A"), d.F("Bm"), R, H, (float)need_n(j, "beta"), d.F("out")); });
}

BL_PROBE(ScatterAddRows) {
  const int B = probe_int(j, "B"), D = probe_int(j, "D"), C = probe_int(j, "C");
  probe_f(j, "src", (size_t)B * D);
  probe_f(j, "out", (size_t)C * D);
  need_i(j, "idx", B, 0, C);
  probe_on_device(be, j, [&](ProbeArrays& d) {
    be->scatter_add_rows(d.F("src"), d.I("idx"), B, D, C, (float)need_n(j, "alpha"), (float)need_n(j, "beta"),
                         d.F("out"));
  });
}

BL_PROBE(GatherSeq) {
  const int B = probe_int(j, "B"), T = probe_int(j, "T"), D = probe_int(j, "D"), N = probe_int(j, "N");
  const size_t stride = (size_t)need_n(j, "rowStride"), offset = (size_t)need_n(j, "offset");
  probe_f(j, "src", (size_t)N * stride);
  need_i(j, "idx", B, 0, N);
  require(offset + (size_t)T * D <= stride, "E_INVALID_ARG", j.who + ": window past the row");
  j.f["dst"].assign((size_t)T * B * D, 0.0f);
  probe_on_device(be, j,
                  [&](ProbeArrays& d) { be->gather_seq(d.F("src"), d.I("idx"), B, T, D, stride, offset, d.F("dst")); });
}

// ---- fused MLP paths

BL_PROBE(BiasActReadout) {
  const int B = probe_int(j, "B"), H = probe_int(j, "H"), O = probe_int(j, "O");
  const Act act = probe_act(j);
  auto &Z = need_f(j, "Z"), &bias = need_f(j, "bias"), &W = need_f(j, "W"), &c = need_f(j, "c");
  need_len(Z, (size_t)B * H, "Z");
  need_len(bias, H, "bias");
  need_len(W, (size_t)O * H, "W");
  need_len(c, O, "c");
  require(O >= 1 && be->supports(Op::BiasActReadout, OpShape{B, H, O, act}), "E_INVALID_ARG",
          "bias_act_readout: the '" + be->name() + "' backend does not run O = " + std::to_string(O));
  std::vector<float>& Y = j.f["Y"];
  Y.assign((size_t)B * O, 0.0f);
  Dev z(be, Z), b(be, bias), w(be, W), cc(be, c), y(be, Y);
  be->bias_act_readout(z.buf.f32(), b.buf.f32(), act, w.buf.f32(), cc.buf.f32(), B, H, O, y.buf.f32());
  z.back(Z);
  y.back(Y);
}

BL_PROBE(SmallFanoutBackward) {
  const int B = probe_int(j, "B"), O = probe_int(j, "O"), H = probe_int(j, "H");
  const Act act = probe_act(j);
  auto &dZ = need_f(j, "dZ"), &W = need_f(j, "W"), &A = need_f(j, "A"), &out = need_f(j, "out");
  need_len(dZ, (size_t)B * O, "dZ");
  need_len(W, (size_t)O * H, "W");
  need_len(A, (size_t)B * H, "A");
  need_len(out, H, "out");
  require(O >= 1 && be->supports(Op::SmallFanoutBackward, OpShape{B, H, O, act}), "E_INVALID_ARG",
          "small_fanout_backward: the '" + be->name() + "' backend does not run O = " + std::to_string(O));
  Dev dz(be, dZ), w(be, W), a(be, A), o(be, out);
  be->small_fanout_backward(dz.buf.f32(), w.buf.f32(), a.buf.f32(), B, O, H, act, (float)need_n(j, "beta"),
                            o.buf.f32());
  o.back(out);
}

// The kernel probe's exports. runRnnKernel / runMultitaskKernel are the same dispatcher under the
// names the model-kind tests used before the ops were listed once.
Napi::Value RunRnnKernel(const Napi::CallbackInfo& info) { return run_probe_call(info, "runRnnKernel"); }
Napi::Value RunMultitaskKernel(const Napi::CallbackInfo& info) { return run_probe_call(info, "runMultitaskKernel"); }

void InitKernelProbeAliases(Napi::Env env, Napi::Object exports) {
  exports.Set("runRnnKernel", Napi::Function::New(env, RunRnnKernel));
  exports.Set("runMultitaskKernel", Napi::Function::New(env, RunMultitaskKernel));
}

}  // namespace

BL_REGISTER_EXPORTS(InitKernelProbeAliases);

Napi::Value RunKernel(const Napi::CallbackInfo& info) { return run_probe_call(info, "runKernel"); }

}  // namespace bl
