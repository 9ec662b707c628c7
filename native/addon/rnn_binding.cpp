// Node-API exports of the RNN (native/rnn): createRnn, createSeqDataset and the NativeRnn /
// NativeSeqDataset classes. Every call validates its arguments (TypeScript validated them
// first), copies them into a plain job and runs it off the JS thread (AsyncJob); errors reject
// with a typed `code`.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../rnn/rnn.h"
#include "async_job.h"
#include "binding_util.h"
#include "pass_stats_js.h"
#include "exports_registry.h"

namespace bl {

namespace {

int rint(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi, int fallback, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return fallback;
  const double d = get_number(env, o, key, 0);
  if (v.IsUndefined() || d != std::floor(d) || d < lo || d > hi)
    throw_js(env, "E_INVALID_ARG", std::string("expected an integer in [") + std::to_string(lo) + ", " + std::to_string(hi) + "] for " + key +
                                     (v.IsUndefined() ? ", got undefined" : ", got " + std::to_string(d)));
  return static_cast<int>(d);
}
bool rbool(Napi::Env env, const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_js(env, "E_INVALID_ARG", std::string("expected a boolean for ") + key);
  return v.As<Napi::Boolean>().Value();
}
InitSpec rinit(Napi::Env env, const Napi::Object& o, const char* key, InitSpec fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", std::string("expected an object for ") + key);
  Napi::Object s = v.As<Napi::Object>();
  InitSpec out = fallback;
  out.dist = parse_dist(get_string(env, s, "dist", "uniform"));
  out.scale = static_cast<float>(get_number(env, s, "scale", 1.0));
  out.relative_to_fan_in = rbool(env, s, "relative", true);
  return out;
}
std::shared_ptr<Backend> rbackend(Napi::Env env, Napi::Value v) {
  if (!v.IsString()) throw_js(env, "E_INVALID_ARG", "expected a backend name");
  try {
    return get_backend(v.As<Napi::String>().Utf8Value());
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
}

RnnRunOptions run_options(Napi::Env env, Napi::Value v) {
  RnnRunOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an options object");
  Napi::Object ob = v.As<Napi::Object>();
  try {
    o.rule = parse_rnn_rule(get_string(env, ob, "rule", "bptt"));
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  o.window = rint(env, ob, "window", 0, 1 << 30, 0);
  if (o.rule == RnnRule::Tbptt && o.window < 1) throw_js(env, "E_INVALID_ARG", "expected a tbptt window >= 1, got " + std::to_string(o.window));
  o.online = rbool(env, ob, "online", false);
  o.symmetric = rbool(env, ob, "symmetric", false);
  o.clip = static_cast<float>(get_number(env, ob, "clip", 0.0));
  if (o.clip < 0) throw_js(env, "E_INVALID_ARG", "expected clip >= 0, got " + std::to_string(o.clip));
  o.closed_loop = rbool(env, ob, "closedLoop", false);
  o.warmup = rint(env, ob, "warmup", 0, 1 << 30, 0);
  o.delay = rint(env, ob, "delay", 1, 1 << 30, 1);
  return o;
}


// ---------------------------------------------------------------- NativeSeqDataset
class SeqDatasetWrap : public Napi::ObjectWrap<SeqDatasetWrap> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeSeqDataset",
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
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(SeqDatasetWrap::ctor.Value()))
    throw_js(env, "E_INVALID_ARG", "expected a NativeSeqDataset");
  auto ds = SeqDatasetWrap::Unwrap(v.As<Napi::Object>())->ds;
  if (!ds) throw_js(env, "E_DISPOSED", "the sequence dataset was disposed");
  return ds;
}

// createSeqDataset(backend, {n, steps, in, out, x?, y?, w?, v?, cond?}) -> Promise<NativeSeqDataset>
Napi::Value CreateSeqDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = rbackend(env, info[0]);
  if (!info[1].IsObject()) throw_js(env, "E_INVALID_ARG", "expected a sequence-data object");
  Napi::Object o = info[1].As<Napi::Object>();
  const int n = rint(env, o, "n", 0, 1 << 30, 0, true);
  const int steps = rint(env, o, "steps", 0, 1 << 30, 0, true);
  const int in = rint(env, o, "in", 0, 1 << 20, 0, true);
  const int out = rint(env, o, "out", 1, 1 << 20, 0, true);
  if (n == 0) throw_js(env, "E_EMPTY", "expected at least one sequence, got 0");
  if (steps == 0) throw_js(env, "E_EMPTY", "expected sequence length >= 1, got 0");
  const size_t nt = (size_t)n * steps;
  auto opt_f32 = [&](const char* key, size_t expect) -> const float* {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return nullptr;
    size_t len = 0;
    const float* p = typed_data<float>(env, v, napi_float32_array, key, &len);
    if (len != expect)
      throw_js(env, "E_SHAPE", std::string("expected ") + std::to_string(expect) + " values for " + key + ", got " + std::to_string(len));
    return p;
  };
  const float* x = opt_f32("x", nt * in);
  if (in > 0 && !x) throw_js(env, "E_INVALID_ARG", "expected a Float32Array for x");
  const float* y = opt_f32("y", nt * out);
  const float* w = opt_f32("w", nt);
  const float* v = opt_f32("v", nt);
  const int32_t* cond = nullptr;
  Napi::Value cv = o.Get("cond");
  if (!cv.IsUndefined() && !cv.IsNull()) {
    size_t len = 0;
    cond = typed_data<int32_t>(env, cv, napi_int32_array, "cond", &len);
    if (len != (size_t)n) throw_js(env, "E_SHAPE", "expected " + std::to_string(n) + " condition indices, got " + std::to_string(len));
  }
  auto result = std::make_shared<std::shared_ptr<SeqDataset>>();
  return AsyncJob::run(
      env, [=] { *result = SeqDataset::create(be, n, steps, in, out, x, y, w, v, cond); },
      [result](Napi::Env env) {
        Napi::Object obj = SeqDatasetWrap::ctor.New({});
        SeqDatasetWrap::Unwrap(obj)->ds = *result;
        return obj;
      },
      nullptr, {o.Get("x"), o.Get("y"), o.Get("w"), o.Get("v"), o.Get("cond")});
}

// ---------------------------------------------------------------- NativeRnn
class RnnWrap : public Napi::ObjectWrap<RnnWrap>, public ModelSlot<Rnn> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeRnn",
                                   {
                                       InstanceMethod<&RnnWrap::Train>("train"),
                                       InstanceMethod<&RnnWrap::Evaluate>("evaluate"),
                                       InstanceMethod<&RnnWrap::Predict>("predict"),
                                       InstanceMethod<&RnnWrap::Gradients>("gradients"),
                                       InstanceMethod<&RnnWrap::Tensors>("tensors"),
                                       InstanceMethod<&RnnWrap::GetParams>("getParams"),
                                       InstanceMethod<&RnnWrap::SetParams>("setParams"),
                                       InstanceMethod<&RnnWrap::GetTensor>("getTensor"),
                                       InstanceMethod<&RnnWrap::ResetOptimizer>("resetOptimizer"),
                                       InstanceMethod<&RnnWrap::OptimizerSteps>("optimizerSteps"),
                                       InstanceMethod<&RnnWrap::Dispose>("dispose"),
                                   });
    ctor = Napi::Persistent(f);
    exports.Set("NativeRnn", f);
  }
  explicit RnnWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RnnWrap>(info) {}

  static std::vector<int32_t> indices(Napi::Env env, Napi::Value v, int n) {
    size_t len = 0;
    const int32_t* p = typed_data<int32_t>(env, v, napi_int32_array, "indices", &len);
    std::vector<int32_t> out(p, p + len);
    for (size_t i = 0; i < len; ++i)
      if (out[i] < 0 || out[i] >= n)
        throw_js(env, "E_INVALID_ARG", "expected sequence indices in [0, " + std::to_string(n) + "), got " + std::to_string(out[i]) +
                                         " at position " + std::to_string(i));
    return out;
  }

  // train(ds, idx: Int32Array, batch, lr, opts) -> Promise<{lossSum, correct, size}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    if (idx.empty()) throw_js(env, "E_EMPTY", "expected at least one sequence index, got 0");
    if (!info[2].IsNumber() || !info[3].IsNumber()) throw_js(env, "E_INVALID_ARG", "expected numbers for batch and lr");
    const int batch = info[2].As<Napi::Number>().Int32Value();
    const double lr = info[3].As<Napi::Number>().DoubleValue();
    if (batch < 1) throw_js(env, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
    if (!(lr >= 0) || !std::isfinite(lr)) throw_js(env, "E_INVALID_ARG", "expected a finite learning rate >= 0, got " + std::to_string(lr));
    const RnnRunOptions o = run_options(env, info[4]);
    auto out = std::make_shared<PassStats>();
    return AsyncJob::run(
        env, [=, idx = std::move(idx)] { *out = m->train(*ds, idx, batch, static_cast<float>(lr), o); },
        [out](Napi::Env env) { return stats_to_js(env, *out); }, busy);
  }

  // evaluate(ds, batch, opts) -> Promise<{lossSum, correct, size}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_seq(env, info[0]);
    const int batch = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    if (batch < 1) throw_js(env, "E_INVALID_ARG", "expected batch size >= 1, got " + std::to_string(batch));
    const RnnRunOptions o = run_options(env, info[2]);
    auto out = std::make_shared<PassStats>();
    return AsyncJob::run(
        env, [=] { *out = m->evaluate(*ds, batch, o); }, [out](Napi::Env env) { return stats_to_js(env, *out); }, busy);
  }

  // predict(ds, idx: Int32Array, opts, wantStates) -> Promise<{outputs [n,T,O], states? [n,T+1,H]}>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    if (idx.empty()) throw_js(env, "E_EMPTY", "expected at least one sequence index, got 0");
    const RnnRunOptions o = run_options(env, info[2]);
    const bool want_states = info[3].ToBoolean().Value();
    const size_t n = idx.size(), T = ds->steps;
    auto y = std::make_shared<std::vector<float>>(n * T * m->spec().out);
    auto r = std::make_shared<std::vector<float>>(want_states ? n * (T + 1) * m->spec().hidden : 0);
    return AsyncJob::run(
        env, [=, idx = std::move(idx)] { m->predict(*ds, idx, o, y->data(), want_states ? r->data() : nullptr); },
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
    auto m = live(env);
    auto ds = unwrap_seq(env, info[0]);
    auto idx = indices(env, info[1], ds->n);
    if (idx.empty()) throw_js(env, "E_EMPTY", "expected at least one sequence index, got 0");
    const RnnRunOptions o = run_options(env, info[2]);
    auto loss = std::make_shared<double>(0);
    auto grads = std::make_shared<std::vector<std::pair<std::string, std::vector<float>>>>();
    return AsyncJob::run(
        env,
        [=, idx = std::move(idx)] {
          *loss = m->gradients(*ds, idx, o);
          for (const auto& t : m->tensors()) {
            if (!t.trainable) continue;
            std::vector<float> g((size_t)t.rows * t.cols);
            m->get_grad(t.name, g.data());
            grads->emplace_back(t.name, std::move(g));
          }
        },
        [=](Napi::Env env) {
          Napi::Object res = Napi::Object::New(env);
          res.Set("loss", *loss);
          Napi::Object g = Napi::Object::New(env);
          for (auto& kv : *grads) g.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          res.Set("grads", g);
          return res;
        },
        busy);
  }

  Napi::Value Tensors(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ts = m->tensors();
    Napi::Array arr = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ts[i].name);
      o.Set("rows", ts[i].rows);
      o.Set("cols", ts[i].cols);
      o.Set("size", Napi::Number::New(env, (double)ts[i].rows * ts[i].cols));
      o.Set("trainable", ts[i].trainable);
      arr[i] = o;
    }
    return arr;
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<TensorSlot> slots;
    for (const auto& t : m->tensors())
      if (t.trainable) slots.push_back({t.name, (size_t)t.rows * t.cols});
    return read_tensors_job(env, std::move(slots), [m](const std::string& n, float* d) { m->get_tensor(n, d); }, busy);
  }

  // setParams({name: Float32Array}) -> Promise<void>; every trainable tensor must be present.
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<TensorSlot> slots;
    for (const auto& t : m->tensors())
      if (t.trainable) slots.push_back({t.name, (size_t)t.rows * t.cols});
    return write_tensors_job(env, slots, info[0], [m](const std::string& n, const float* d) { m->set_tensor(n, d); }, busy);
  }

  // getTensor(name) -> Promise<Float32Array>: any tensor, frozen or learned.
  Napi::Value GetTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (!info[0].IsString()) throw_js(env, "E_INVALID_ARG", "expected a tensor name");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    size_t size = 0;
    bool found = false;
    for (const auto& t : m->tensors())
      if (t.name == name) { size = (size_t)t.rows * t.cols; found = true; }
    if (!found) throw_js(env, "E_INVALID_ARG", "no tensor named '" + name + "'");
    auto out = std::make_shared<std::vector<float>>(size);
    return AsyncJob::run(
        env, [=] { m->get_tensor(name, out->data()); }, [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); },
        busy);
  }

  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info) {
    return void_job(info.Env(), [](Rnn& m) { m.reset_optimizer(); });
  }

  Napi::Value OptimizerSteps(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->optimizer_steps()));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) { return dispose_model(info.Env()); }
};
Napi::FunctionReference RnnWrap::ctor;

// createRnn(spec, backend) -> Promise<NativeRnn>
Napi::Value CreateRnn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_js(env, "E_INVALID_ARG", "expected an RNN spec object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto be = rbackend(env, info[1]);
  RnnSpec s;
  try {
    s.in = rint(env, o, "inputSize", 0, 1 << 20, 0, true);
    s.hidden = rint(env, o, "hidden", 1, 1 << 20, 0, true);
    s.out = rint(env, o, "outputSize", 1, 1 << 20, 0, true);
    s.conditions = rint(env, o, "conditions", 1, 1 << 20, 1);
    s.act = parse_act(get_string(env, o, "activation", "tanh-rational"));
    s.decay = static_cast<float>(get_number(env, o, "decay", 0.0));
    s.gain = static_cast<float>(get_number(env, o, "gain", 1.0));
    s.seed = to_seed(env, o.Get("seed"));
    s.rec_init = rinit(env, o, "recurrentInit", s.rec_init);
    s.in_init = rinit(env, o, "inputInit", s.in_init);
    s.out_init = rinit(env, o, "readoutInit", s.out_init);
    s.bias_init = rinit(env, o, "biasInit", s.bias_init);
    s.state_init = rinit(env, o, "stateInit", s.state_init);
    s.out_bias_init = rinit(env, o, "readoutBiasInit", s.out_bias_init);
    s.feedback_init = rinit(env, o, "feedbackInit", s.feedback_init);
    Napi::Object tr = get_object(env, o, "trainable");
    s.train_rec = rbool(env, tr, "recurrentWeight", false);
    s.train_in = rbool(env, tr, "inputWeight", false);
    s.train_out = rbool(env, tr, "readoutWeight", false);
    s.train_bias = rbool(env, tr, "recurrentBias", true);
    s.train_out_bias = rbool(env, tr, "readoutBias", false);
    s.train_state = rbool(env, tr, "initialState", false);
    Napi::Object opt = get_object(env, o, "optimizer");
    s.optimizer.kind = parse_optimizer(get_string(env, opt, "kind", "adam"));
    s.optimizer.beta1 = static_cast<float>(get_number(env, opt, "beta1", 0.9));
    s.optimizer.beta2 = static_cast<float>(get_number(env, opt, "beta2", 0.999));
    s.optimizer.eps = static_cast<float>(get_number(env, opt, "eps", 1e-8));
    s.optimizer.momentum = static_cast<float>(get_number(env, opt, "momentum", 0.0));
    s.optimizer.nesterov = rbool(env, opt, "nesterov", false);
    s.optimizer.weight_decay = static_cast<float>(get_number(env, opt, "weightDecay", 0.0));
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  auto result = std::make_shared<std::shared_ptr<Rnn>>();
  return AsyncJob::run(
      env, [=] { *result = std::make_shared<Rnn>(be, s); },
      [result](Napi::Env env) {
        Napi::Object obj = RnnWrap::ctor.New({});
        RnnWrap::Unwrap(obj)->model = *result;
        return obj;
      });
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
