// Node-API surface of the multi-task model (native/multitask), registered through
// BL_REGISTER_EXPORTS: createMultitaskMlp, createMultitaskDataset and the NativeMultitaskMlp /
// NativeMultitaskDataset classes. Arguments are validated here (TypeScript validated them first,
// with friendlier messages); work runs off the JS thread as Promise jobs with the model's busy flag.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../multitask/multitask_data.h"
#include "../multitask/multitask_mlp.h"
#include "async_job.h"
#include "binding_util.h"
#include "exports_registry.h"

namespace bl {

namespace {

int int_in(Napi::Env env, double d, const char* what, int lo, int hi) {
  if (d != std::floor(d) || d < lo || d > hi)
    throw_js(env, "E_INVALID_ARG", std::string("expected an integer in [") + std::to_string(lo) + ", " +
                                       std::to_string(hi) + "] for " + what + ", got " + std::to_string(d));
  return static_cast<int>(d);
}
Napi::Array array(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw_js(env, "E_INVALID_ARG", std::string("expected an array for ") + key);
  return v.As<Napi::Array>();
}
InitSpec init_of(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object { dist, scale, relative } for an init spec");
  Napi::Object o = v.As<Napi::Object>();
  InitSpec s;
  s.dist = parse_dist(get_string(env, o, "dist", "uniform"));
  s.scale = static_cast<float>(get_number(env, o, "scale", 1.0));
  s.relative_to_fan_in = get_bool(o, "relative", true);
  return s;
}

std::shared_ptr<Backend> backend_of(Napi::Env env, Napi::Value v) {
  if (!v.IsString()) throw_js(env, "E_INVALID_ARG", "expected a backend name");
  try {
    return get_backend(v.As<Napi::String>().Utf8Value());
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
}

Napi::Object stats_to_js(Napi::Env env, const MtPassStats& s) {
  Napi::Object o = Napi::Object::New(env);
  auto stats = Napi::Float32Array::New(env, s.stats.size());
  auto count = Napi::Int32Array::New(env, s.count.size());
  auto size = Napi::Int32Array::New(env, s.size.size());
  for (size_t i = 0; i < s.stats.size(); ++i) stats[i] = s.stats[i];
  for (size_t i = 0; i < s.count.size(); ++i) count[i] = s.count[i];
  for (size_t i = 0; i < s.size.size(); ++i) size[i] = s.size[i];
  o.Set("tasks", s.K);
  o.Set("stats", stats);
  o.Set("count", count);
  o.Set("size", size);
  return o;
}

Napi::Float64Array f64(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = v[i];
  return a;
}

// ---------------------------------------------------------------- NativeMultitaskDataset
class MtDatasetWrap : public Napi::ObjectWrap<MtDatasetWrap> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeMultitaskDataset",
                                   {InstanceAccessor<&MtDatasetWrap::Size>("size"),
                                    InstanceAccessor<&MtDatasetWrap::Tasks>("tasks")});
    ctor = Napi::Persistent(f);
    exports.Set("NativeMultitaskDataset", f);
  }
  explicit MtDatasetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MtDatasetWrap>(info) {}
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ds ? ds->n() : 0); }
  Napi::Value Tasks(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ds ? ds->tasks() : 0); }
  std::shared_ptr<MultitaskData> ds;
};
Napi::FunctionReference MtDatasetWrap::ctor;

std::shared_ptr<MultitaskData> unwrap_ds(Napi::Env env, Napi::Value v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(MtDatasetWrap::ctor.Value()))
    throw_js(env, "E_INVALID_ARG", "expected a NativeMultitaskDataset");
  auto ds = MtDatasetWrap::Unwrap(v.As<Napi::Object>())->ds;
  if (!ds) throw_js(env, "E_DISPOSED", "the dataset was disposed");
  return ds;
}

// createMultitaskDataset(backend, x, inputSize, labels, task, classes: Int32Array) -> Promise<NativeMultitaskDataset>
Napi::Value CreateMultitaskDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = backend_of(env, info[0]);
  size_t nx = 0, nl = 0, nt = 0, nc = 0;
  const float* x = typed_data<float>(env, info[1], napi_float32_array, "x", &nx);
  if (!info[2].IsNumber()) throw_js(env, "E_INVALID_ARG", "expected a number for inputSize");
  const int input = info[2].As<Napi::Number>().Int32Value();
  const int32_t* labels = typed_data<int32_t>(env, info[3], napi_int32_array, "labels", &nl);
  const int32_t* task = typed_data<int32_t>(env, info[4], napi_int32_array, "task", &nt);
  const int32_t* cls = typed_data<int32_t>(env, info[5], napi_int32_array, "classes", &nc);
  if (input <= 0 || nx % input != 0)
    throw_js(env, "E_SHAPE", "expected x length to be a multiple of inputSize " + std::to_string(input));
  const int n = static_cast<int>(nx / input);
  if (nl != (size_t)n || nt != (size_t)n)
    throw_js(env, "E_SHAPE", "expected " + std::to_string(n) + " labels and task ids, got " + std::to_string(nl) + " and " +
                                 std::to_string(nt));
  std::vector<int> classes(cls, cls + nc);
  auto result = std::make_shared<std::shared_ptr<MultitaskData>>();
  return AsyncJob::run(
      env, [=] { *result = MultitaskData::create(be, x, n, input, labels, task, classes); },
      [result](Napi::Env env) {
        Napi::Object obj = MtDatasetWrap::ctor.New({});
        MtDatasetWrap::Unwrap(obj)->ds = *result;
        return obj;
      },
      nullptr, {info[1], info[3], info[4]});
}

// ---------------------------------------------------------------- NativeMultitaskMlp
class MtMlpWrap : public Napi::ObjectWrap<MtMlpWrap>, public ModelSlot<MultitaskMlp> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeMultitaskMlp",
                                   {
                                       InstanceMethod<&MtMlpWrap::Train>("train"),
                                       InstanceMethod<&MtMlpWrap::Evaluate>("evaluate"),
                                       InstanceMethod<&MtMlpWrap::Predict>("predict"),
                                       InstanceMethod<&MtMlpWrap::Gradients>("gradients"),
                                       InstanceMethod<&MtMlpWrap::Activity>("activity"),
                                       InstanceMethod<&MtMlpWrap::Params>("params"),
                                       InstanceMethod<&MtMlpWrap::Tensors>("tensors"),
                                       InstanceMethod<&MtMlpWrap::GetTensor>("getTensor"),
                                       InstanceMethod<&MtMlpWrap::GetParams>("getParams"),
                                       InstanceMethod<&MtMlpWrap::SetParams>("setParams"),
                                       InstanceMethod<&MtMlpWrap::SetTaskTrainable>("setTaskTrainable"),
                                       InstanceMethod<&MtMlpWrap::TaskSteps>("taskSteps"),
                                       InstanceMethod<&MtMlpWrap::ResetOptimizer>("resetOptimizer"),
                                       InstanceMethod<&MtMlpWrap::DropInputCache>("dropInputCache"),
                                       InstanceMethod<&MtMlpWrap::Dispose>("dispose"),
                                       InstanceAccessor<&MtMlpWrap::ReadoutWidth>("readoutWidth"),
                                       InstanceAccessor<&MtMlpWrap::Offsets>("readoutOffsets"),
                                   });
    ctor = Napi::Persistent(f);
    exports.Set("NativeMultitaskMlp", f);
  }
  explicit MtMlpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MtMlpWrap>(info) {}

  static float number_arg(Napi::Env env, const Napi::Value& v, const char* what) {
    if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", std::string("expected a number for ") + what);
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw_js(env, "E_INVALID_ARG", std::string("expected a finite number for ") + what);
    return static_cast<float>(d);
  }
  static int int_arg(Napi::Env env, const Napi::Value& v, const char* what, int lo, int hi) {
    return int_in(env, number_arg(env, v, what), what, lo, hi);
  }

  Napi::Value ReadoutWidth(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), live(info.Env())->readout_width());
  }
  Napi::Value Offsets(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    auto a = Napi::Int32Array::New(info.Env(), m->tasks());
    for (int k = 0; k < m->tasks(); ++k) a[k] = m->logit_offset(k);
    return a;
  }

  // train(ds, idx: Int32Array, batch, lr, slope, cacheInput) -> Promise<stats>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_ds(env, info[0]);
    size_t n = 0;
    const int32_t* idx = typed_data<int32_t>(env, info[1], napi_int32_array, "indices", &n);
    std::vector<int32_t> indices(idx, idx + n);
    const int batch = int_arg(env, info[2], "batchSize", 1, 1 << 30);
    const float lr = number_arg(env, info[3], "lr");
    const float slope = number_arg(env, info[4], "slope");
    const bool cache = info[5].ToBoolean().Value();
    auto out = std::make_shared<MtPassStats>();
    return AsyncJob::run(
        env, [=, indices = std::move(indices)] { *out = m->train(*ds, indices, batch, lr, slope, cache); },
        [out](Napi::Env env) { return stats_to_js(env, *out); }, busy);
  }

  // evaluate(ds, batch, hard, slope) -> Promise<stats>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_ds(env, info[0]);
    const int batch = int_arg(env, info[1], "batchSize", 1, 1 << 30);
    const bool hard = info[2].ToBoolean().Value();
    const float slope = number_arg(env, info[3], "slope");
    auto out = std::make_shared<MtPassStats>();
    return AsyncJob::run(
        env, [=] { *out = m->evaluate(*ds, batch, hard, slope); }, [out](Napi::Env env) { return stats_to_js(env, *out); },
        busy);
  }

  // predict(x, task: Int32Array, hard, slope) -> Promise<Float32Array [n, R]>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    size_t nx = 0, nt = 0;
    const float* x = typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    const int32_t* task = typed_data<int32_t>(env, info[1], napi_int32_array, "task", &nt);
    const bool hard = info[2].ToBoolean().Value();
    const float slope = number_arg(env, info[3], "slope");
    const int I = m->spec().input, R = m->readout_width();
    if (nx == 0 || nx % I != 0)
      throw_js(env, nx == 0 ? "E_EMPTY" : "E_SHAPE",
               "expected x length a non-zero multiple of " + std::to_string(I) + ", got " + std::to_string(nx));
    const int n = static_cast<int>(nx / I);
    if (nt != (size_t)n) throw_js(env, "E_SHAPE", "expected " + std::to_string(n) + " task ids, got " + std::to_string(nt));
    auto out = std::make_shared<std::vector<float>>();
    return AsyncJob::run(
        env,
        [=] {
          out->resize((size_t)n * R);
          m->predict(x, task, n, hard, slope, out->data());
        },
        [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); }, busy, {info[0], info[1]});
  }

  // gradients(x, labels, task, slope) -> Promise<{ loss: Float64Array [K], grads: {name: Float32Array} }>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    size_t nx = 0, nl = 0, nt = 0;
    const float* x = typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    const int32_t* labels = typed_data<int32_t>(env, info[1], napi_int32_array, "labels", &nl);
    const int32_t* task = typed_data<int32_t>(env, info[2], napi_int32_array, "task", &nt);
    const float slope = number_arg(env, info[3], "slope");
    const int I = m->spec().input;
    if (nx % I != 0) throw_js(env, "E_SHAPE", "expected x length a multiple of " + std::to_string(I));
    const int n = static_cast<int>(nx / I);
    if (nl != (size_t)n || nt != (size_t)n)
      throw_js(env, "E_SHAPE", "expected " + std::to_string(n) + " labels and task ids");
    auto loss = std::make_shared<std::vector<double>>();
    auto grads = std::make_shared<std::vector<std::pair<std::string, std::vector<float>>>>();
    return AsyncJob::run(
        env,
        [=] {
          *loss = m->gradients(x, labels, task, n, slope);
          for (const auto& p : m->params()) {
            std::vector<float> g(p.size);
            m->get_grad(p.name, g.data());
            grads->emplace_back(p.name, std::move(g));
          }
        },
        [=](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("loss", f64(env, *loss));
          Napi::Object g = Napi::Object::New(env);
          for (auto& kv : *grads) g.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          o.Set("grads", g);
          return o;
        },
        busy, {info[0], info[1], info[2]});
  }

  // activity(ds, layer, batch, threshold, hard, slope) -> Promise<{count, mean, var, active}>
  Napi::Value Activity(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_ds(env, info[0]);
    const int layer = int_arg(env, info[1], "layer", 0, 1 << 20);
    const int batch = int_arg(env, info[2], "batchSize", 1, 1 << 30);
    const float threshold = number_arg(env, info[3], "threshold");
    const bool hard = info[4].ToBoolean().Value();
    const float slope = number_arg(env, info[5], "slope");
    auto out = std::make_shared<MtActivityStats>();
    return AsyncJob::run(
        env, [=] { *out = m->activity(*ds, layer, batch, threshold, hard, slope); },
        [out](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          auto count = Napi::Int32Array::New(env, out->count.size());
          for (size_t i = 0; i < out->count.size(); ++i) count[i] = out->count[i];
          o.Set("tasks", out->K);
          o.Set("units", out->H);
          o.Set("count", count);
          o.Set("mean", f64(env, out->mean));
          o.Set("variance", f64(env, out->var));
          o.Set("active", f64(env, out->active));
          return o;
        },
        busy);
  }

  static Napi::Array infos(Napi::Env env, const std::vector<MultitaskMlp::ParamInfo>& ps) {
    Napi::Array arr = Napi::Array::New(env, ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ps[i].name);
      o.Set("size", Napi::Number::New(env, static_cast<double>(ps[i].size)));
      o.Set("rows", ps[i].rows);
      o.Set("cols", ps[i].cols);
      o.Set("perTask", ps[i].per_task);
      arr[i] = o;
    }
    return arr;
  }
  Napi::Value Params(const Napi::CallbackInfo& info) { return infos(info.Env(), live(info.Env())->params()); }
  Napi::Value Tensors(const Napi::CallbackInfo& info) { return infos(info.Env(), live(info.Env())->tensors()); }

  // getTensor(name) -> Promise<Float32Array>: any tensor, frozen or learned.
  Napi::Value GetTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (!info[0].IsString()) throw_js(env, "E_INVALID_ARG", "expected a tensor name");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    size_t size = 0;
    bool found = false;
    for (const auto& t : m->tensors())
      if (t.name == name) { size = t.size; found = true; }
    if (!found) throw_js(env, "E_INVALID_ARG", "no tensor named '" + name + "'");
    auto out = std::make_shared<std::vector<float>>(size);
    return AsyncJob::run(
        env, [=] { m->get_tensor(name, out->data()); },
        [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); }, busy);
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<TensorSlot> slots;
    for (const auto& p : m->params()) slots.push_back({p.name, p.size});
    return read_tensors_job(env, std::move(slots), [m](const std::string& n, float* d) { m->get_tensor(n, d); }, busy);
  }

  // setParams({name: Float32Array}) -> Promise<void>; every trainable tensor must be present.
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<TensorSlot> slots;
    for (const auto& p : m->params()) slots.push_back({p.name, p.size});
    return write_tensors_job(env, slots, info[0], [m](const std::string& n, const float* d) { m->set_param(n, d); }, busy);
  }

  // setTaskTrainable(flags: Int32Array [K]) (synchronous; refused while a job runs)
  Napi::Value SetTaskTrainable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (busy->load()) throw_js(env, "E_CONCURRENT", "another operation on this model is still running; await it first");
    size_t n = 0;
    const int32_t* f = typed_data<int32_t>(env, info[0], napi_int32_array, "flags", &n);
    std::vector<uint8_t> flags(n);
    for (size_t i = 0; i < n; ++i) flags[i] = f[i] != 0;
    try {
      m->set_task_trainable(flags);
    } catch (const BlError& e) {
      throw_js(env, e.code(), e.what());
    }
    return env.Undefined();
  }

  Napi::Value TaskSteps(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    Napi::Array a = Napi::Array::New(info.Env(), m->tasks());
    for (int k = 0; k < m->tasks(); ++k) a[k] = Napi::Number::New(info.Env(), static_cast<double>(m->task_steps(k)));
    return a;
  }

  Napi::Value DropInputCache(const Napi::CallbackInfo& info) {
    return void_job(info.Env(), [](MultitaskMlp& m) { m.drop_input_cache(); });
  }

  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info) {
    return void_job(info.Env(), [](MultitaskMlp& m) { m.reset_optimizer(); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) { return dispose_model(info.Env()); }
};
Napi::FunctionReference MtMlpWrap::ctor;

// createMultitaskMlp(spec, backend) -> Promise<NativeMultitaskMlp>
Napi::Value CreateMultitaskMlp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_js(env, "E_INVALID_ARG", "expected a multi-task model spec object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto be = backend_of(env, info[1]);
  MultitaskSpec spec;
  try {
    spec.seed = to_seed(env, o.Get("seed"));
    spec.input = int_in(env, get_number(env, o, "input", 0, true), "input", 1, 1 << 30);
    Napi::Array hidden = array(env, o, "hidden");
    for (uint32_t i = 0; i < hidden.Length(); ++i) {
      Napi::Value v = hidden[i];
      if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", "expected numbers in hidden");
      spec.hidden.push_back(int_in(env, v.As<Napi::Number>().DoubleValue(), "hidden width", 1, 1 << 30));
    }
    spec.act = parse_act(get_string(env, o, "activation", "relu"));
    Napi::Array wi = array(env, o, "weightInit"), bi = array(env, o, "biasInit");
    for (uint32_t i = 0; i < wi.Length(); ++i) spec.weight_init.push_back(init_of(env, wi[i]));
    for (uint32_t i = 0; i < bi.Length(); ++i) spec.bias_init.push_back(init_of(env, bi[i]));
    Napi::Array cls = array(env, o, "classes");
    for (uint32_t i = 0; i < cls.Length(); ++i) {
      Napi::Value v = cls[i];
      if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", "expected numbers in classes");
      spec.classes.push_back(int_in(env, v.As<Napi::Number>().DoubleValue(), "classes", 1, 1 << 20));
    }
    spec.per_task_readout = get_bool(o, "perTaskReadout", false);
    const std::string mode = get_string(env, o, "mode", "bias");
    if (mode == "bias") spec.mode = MtMode::Bias;
    else if (mode == "mask") spec.mode = MtMode::Mask;
    else if (mode == "full") spec.mode = MtMode::Full;
    else throw_js(env, "E_INVALID_ARG", "expected 'bias', 'mask' or 'full' for mode, got '" + mode + "'");
    spec.mask_init = static_cast<float>(get_number(env, o, "maskInit", 1.0));
    Napi::Value ov = o.Get("optimizer");
    if (!ov.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object for optimizer");
    Napi::Object opt = ov.As<Napi::Object>();
    spec.optimizer.kind = parse_optimizer(get_string(env, opt, "kind", "adam"));
    spec.optimizer.beta1 = static_cast<float>(get_number(env, opt, "beta1", 0.9));
    spec.optimizer.beta2 = static_cast<float>(get_number(env, opt, "beta2", 0.999));
    spec.optimizer.eps = static_cast<float>(get_number(env, opt, "eps", 1e-8));
    spec.optimizer.momentum = static_cast<float>(get_number(env, opt, "momentum", 0.0));
    spec.optimizer.nesterov = get_bool(opt, "nesterov", false);
    spec.optimizer.weight_decay = static_cast<float>(get_number(env, opt, "weightDecay", 0.0));
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  auto result = std::make_shared<std::shared_ptr<MultitaskMlp>>();
  return AsyncJob::run(
      env, [=] { *result = std::make_shared<MultitaskMlp>(be, spec); },
      [result](Napi::Env env) {
        Napi::Object obj = MtMlpWrap::ctor.New({});
        MtMlpWrap::Unwrap(obj)->model = *result;
        return obj;
      });
}

void InitMultitask(Napi::Env env, Napi::Object exports) {
  MtDatasetWrap::Init(env, exports);
  MtMlpWrap::Init(env, exports);
  exports.Set("createMultitaskMlp", Napi::Function::New(env, CreateMultitaskMlp));
  exports.Set("createMultitaskDataset", Napi::Function::New(env, CreateMultitaskDataset));
}

}  // namespace

BL_REGISTER_EXPORTS(InitMultitask);

}  // namespace bl
