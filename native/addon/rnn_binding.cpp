// Node-API exports of the RNN (native/rnn): createRnn, createSeqDataset and the NativeRnn /
// NativeSeqDataset classes. Every call validates its arguments (TypeScript validated them
// first), copies them into a plain job and runs it off the JS thread (AsyncJob); errors reject
// with a typed `code`.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../rnn/rnn.h"
#include "async_job.h"
#include "binding_util.h"
#include "staged_copy.h"
#include "pass_stats_js.h"
#include "exports_registry.h"

namespace bl {

namespace {

RnnRunOptions run_options(Napi::Env env, Napi::Value v) {
  RnnRunOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an options object");
  Napi::Object ob = v.As<Napi::Object>();
  o.rule = parsed(env, [&] { return parse_rnn_rule(read_string(env, ob, "rule", "bptt")); });
  o.window = read_int(env, ob, "window", 0, 1 << 30, 0);
  if (o.rule == RnnRule::Tbptt && o.window < 1)
    throw_js(env, "E_INVALID_ARG", "expected a tbptt window >= 1, got " + std::to_string(o.window));
  o.online = read_bool(env, ob, "online", false);
  o.symmetric = read_bool(env, ob, "symmetric", false);
  const Napi::Value td = ob.Get("traceDecay");
  if (!td.IsUndefined() && !td.IsNull()) {
    if (!td.IsNumber() || !std::isfinite(td.As<Napi::Number>().DoubleValue()))
      throw_js(env, "E_INVALID_ARG", "expected a finite number for traceDecay");
    o.trace_decay = static_cast<float>(td.As<Napi::Number>().DoubleValue());
  }
  bool has_feedback = false;
  o.feedback = copy_f32_opt(env, ob.Get("feedback"), "feedback", &has_feedback);
  o.clip = static_cast<float>(read_number(env, ob, "clip", 0.0));
  if (o.clip < 0) throw_js(env, "E_INVALID_ARG", "expected clip >= 0, got " + std::to_string(o.clip));
  o.closed_loop = read_bool(env, ob, "closedLoop", false);
  o.warmup = read_int(env, ob, "warmup", 0, 1 << 30, 0);
  o.delay = read_int(env, ob, "delay", 1, 1 << 30, 1);
  return o;
}

// ---------------------------------------------------------------- NativeSeqDataset
class SeqDatasetWrap : public Napi::ObjectWrap<SeqDatasetWrap> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(
        env, "NativeSeqDataset",
        {InstanceAccessor<&SeqDatasetWrap::Size>("size"), InstanceAccessor<&SeqDatasetWrap::Steps>("steps")});
    ctor = Napi::Persistent(f);
    exports.Set("NativeSeqDataset", f);
  }
  explicit SeqDatasetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SeqDatasetWrap>(info) {}
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ds ? ds->n : 0); }
  Napi::Value Steps(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ds ? ds->steps : 0); }
  std::shared_ptr<SeqDataset> ds;
};
Napi::FunctionReference SeqDatasetWrap::ctor;

std::shared_ptr<SeqDataset> unwrap_seq(Napi::Env env, Napi::Value v) {
  return unwrap_held<SeqDatasetWrap, &SeqDatasetWrap::ds>(env, v, "NativeSeqDataset");
}

// createSeqDataset(backend, {n, steps, in, out, x?, y?, w?, v?, cond?}) -> Promise<NativeSeqDataset>.
// Every array is copied on the JS thread (the float ones staged: staged_copy.h), sizes checked before anything is
// allocated (sizes.h); SeqDataset::create checks the copies.
Napi::Value CreateSeqDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  Napi::Object o = arg_object(env, info[1], "sequence data");
  const int n = read_int(env, o, "n", 0, 1 << 30);
  const int steps = read_int(env, o, "steps", 0, 1 << 30);
  const int in = read_int(env, o, "in", 0, 1 << 20);
  const int out = read_int(env, o, "out", 1, 1 << 20);
  if (n == 0) throw_js(env, "E_EMPTY", "expected at least one sequence, got 0");
  if (steps == 0) throw_js(env, "E_EMPTY", "expected sequence length >= 1, got 0");
  const size_t nt = count_of(env, {(uint64_t)n, (uint64_t)steps}, "the sequence steps");
  count_of(env, {(uint64_t)nt, (uint64_t)std::max(in, 1)}, "the inputs");
  count_of(env, {(uint64_t)nt, (uint64_t)out}, "the targets");
  auto check_f32 = [&](const char* key, size_t expect) {
    Napi::Value v = o.Get(key);
    if (v.IsNull() || v.IsUndefined()) return false;
    size_t len = 0;
    typed_data<float>(env, v, napi_float32_array, key, &len);
    expect_length(env, len, expect, (std::string("values for ") + key).c_str());
    return true;
  };
  if (!check_f32("x", nt * in) && in > 0) throw_js(env, "E_INVALID_ARG", "expected a Float32Array for x");
  check_f32("y", nt * out);
  check_f32("w", nt);
  check_f32("v", nt);
  bool has_cond = false;
  auto cond = std::make_shared<std::vector<int32_t>>(copy_i32_opt(env, o.Get("cond"), "cond", &has_cond));
  if (has_cond) expect_length(env, cond->size(), (size_t)n, "condition indices");
  return StagedCopy::run(env, {o.Get("x"), o.Get("y"), o.Get("w"), o.Get("v")}, {"x", "y", "w", "v"},
                         [=](Napi::Env env, std::vector<SharedF32> c) {
                           return create_job<SeqDatasetWrap, &SeqDatasetWrap::ds>(env, [=] {
                             return SeqDataset::create(be, n, steps, in, out, data_or_null(c[0]), data_or_null(c[1]),
                                                       data_or_null(c[2]), data_or_null(c[3]),
                                                       has_cond ? cond->data() : nullptr);
                           });
                         });
}

// ---------------------------------------------------------------- NativeRnn
// NativeRnn: the shared model methods (ModelWrap) plus train, evaluate, predict, gradients.
class RnnWrap : public ModelWrap<RnnWrap, Rnn> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    define(env, exports, "NativeRnn",
           {InstanceMethod<&RnnWrap::Train>("train"), InstanceMethod<&RnnWrap::Evaluate>("evaluate"),
            InstanceMethod<&RnnWrap::Predict>("predict"), InstanceMethod<&RnnWrap::Gradients>("gradients")});
  }
  explicit RnnWrap(const Napi::CallbackInfo& info) : ModelWrap(info) {}

  // At least one sequence index, each in [0, n) (E_EMPTY, E_INVALID_ARG).
  static std::vector<int32_t> indices(Napi::Env env, Napi::Value v, int n) {
    std::vector<int32_t> out = copy_i32(env, v, "indices");
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < 0 || out[i] >= n)
        throw_js(env, "E_INVALID_ARG",
                 "expected sequence indices in [0, " + std::to_string(n) + "), got " + std::to_string(out[i]) +
                     " at position " + std::to_string(i));
    if (out.empty()) throw_js(env, "E_EMPTY", "expected at least one sequence index, got 0");
    return out;
  }

  // train(ds, idx: Int32Array, batch, lr, opts) -> Promise<{lossSum, correct, size}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    const int batch = arg_int(env, info[2], "batchSize", 1, 1 << 30);
    const double lr = arg_number(env, info[3], "lr");
    if (!(lr >= 0)) throw_js(env, "E_INVALID_ARG", "expected a finite learning rate >= 0, got " + std::to_string(lr));
    const RnnRunOptions o = run_options(env, info[4]);
    return result_job(
        env, [=, idx = std::move(idx)](Rnn& m) { return m.train(*ds, idx, batch, static_cast<float>(lr), o); },
        stats_to_js);
  }

  // evaluate(ds, batch, opts) -> Promise<{lossSum, correct, size}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_seq(env, info[0]);
    const int batch = arg_int(env, info[1], "batchSize", 1, 1 << 30);
    const RnnRunOptions o = run_options(env, info[2]);
    return result_job(env, [=](Rnn& m) { return m.evaluate(*ds, batch, o); }, stats_to_js);
  }

  // predict(ds, idx: Int32Array, opts, wantStates) -> Promise<{outputs [n,T,O], states? [n,T+1,H]}>;
  // a non-finite output is E_NONFINITE (states are not checked: they are what they are).
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    const RnnRunOptions o = run_options(env, info[2]);
    const bool want_states = arg_bool_or(env, info[3], "wantStates", false);
    const uint64_t n = idx.size(), T = ds->steps, O = m->spec().out;
    const size_t ny = count_of(env, {n, T, O}, "the outputs");
    const size_t nr = want_states ? count_of(env, {n, T + 1, (uint64_t)m->spec().hidden}, "the states") : 0;
    auto y = std::make_shared<std::vector<float>>();
    auto r = std::make_shared<std::vector<float>>();
    return AsyncJob::run(
        env,
        [=, idx = std::move(idx)] {
          y->resize(ny);
          r->resize(nr);
          m->predict(*ds, idx, o, y->data(), want_states ? r->data() : nullptr);
          require_finite_outputs(*y, T * O, "output");
        },
        [=](Napi::Env env) {
          Napi::Object res = Napi::Object::New(env);
          res.Set("outputs", to_float32_array(env, std::move(*y)));
          if (want_states) res.Set("states", to_float32_array(env, std::move(*r)));
          return res;
        },
        busy);
  }

  // gradients(ds, idx, opts) -> Promise<{loss (sum over sequences), grads: {name: Float32Array}}>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    const RnnRunOptions o = run_options(env, info[2]);
    return gradients_job(env, [ds, idx = std::move(idx), o](Rnn& m) { return m.gradients(*ds, idx, o); }, number_js);
  }
};

// createRnn(spec, backend) -> Promise<NativeRnn>
Napi::Value CreateRnn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(env, info[0], "RNN spec");
  auto be = read_backend(env, info[1]);
  RnnSpec s;
  s.in = read_int(env, o, "inputSize", 0, 1 << 20);
  s.hidden = read_int(env, o, "hidden", 1, 1 << 20);
  s.out = read_int(env, o, "outputSize", 1, 1 << 20);
  s.conditions = read_int(env, o, "conditions", 1, 1 << 20, 1);
  s.act = parsed(env, [&] { return parse_act(read_string(env, o, "activation", "tanh-rational")); });
  s.decay = static_cast<float>(read_number(env, o, "decay", 0.0));
  s.gain = static_cast<float>(read_number(env, o, "gain", 1.0));
  s.seed = read_seed(env, o.Get("seed"));
  s.rec_init = read_init(env, o, "recurrentInit", s.rec_init);
  s.in_init = read_init(env, o, "inputInit", s.in_init);
  s.out_init = read_init(env, o, "readoutInit", s.out_init);
  s.bias_init = read_init(env, o, "biasInit", s.bias_init);
  s.state_init = read_init(env, o, "stateInit", s.state_init);
  s.out_bias_init = read_init(env, o, "readoutBiasInit", s.out_bias_init);
  s.feedback_init = read_init(env, o, "feedbackInit", s.feedback_init);
  Napi::Object tr = read_object(env, o, "trainable");
  s.train_rec = read_bool(env, tr, "recurrentWeight", false);
  s.train_in = read_bool(env, tr, "inputWeight", false);
  s.train_out = read_bool(env, tr, "readoutWeight", false);
  s.train_bias = read_bool(env, tr, "recurrentBias", true);
  s.train_out_bias = read_bool(env, tr, "readoutBias", false);
  s.train_state = read_bool(env, tr, "initialState", false);
  s.optimizer = read_optimizer(env, o.Get("optimizer"));
  s.precision = read_precision(env, o);
  return create_job<RnnWrap, &RnnWrap::model>(env, [=] { return std::make_shared<Rnn>(be, s); });
}

void InitRnn(Napi::Env env, Napi::Object exports) {
  SeqDatasetWrap::Init(env, exports);
  RnnWrap::Init(env, exports);
  exports.Set("createRnn", Napi::Function::New(env, CreateRnn));
  exports.Set("createSeqDataset", Napi::Function::New(env, CreateSeqDataset));
}

}  // namespace

BL_REGISTER_EXPORTS(InitRnn);

}  // namespace bl
