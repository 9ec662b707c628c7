// Node-API entry points. Every call validates its arguments (TypeScript validated them first,
// with friendlier messages), copies them into a plain job and runs it off the JS thread.
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "../backend/backend.h"
#include "../backend/cpu/cpu_kernels.h"
#include "../common/thread_pool.h"
#include "../data/device_dataset.h"
#include "../mlp/mlp.h"
#include "async_job.h"
#include "exports_registry.h"

namespace bl {

Napi::Value RunKernel(const Napi::CallbackInfo& info);  // kernel_probe.cpp

namespace {

[[noreturn]] void throw_js(Napi::Env env, const std::string& code, const std::string& msg) {
  throw make_error(env, code, msg);
}

Napi::Object get_object(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", std::string("expected an object for ") + key);
  return v.As<Napi::Object>();
}
double get_number(Napi::Env env, const Napi::Object& o, const char* key, double fallback, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return fallback;
  if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", std::string("expected a number for ") + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_js(env, "E_INVALID_ARG", std::string("expected a finite number for ") + key);
  return d;
}
int get_int(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi) {
  const double d = get_number(env, o, key, 0, true);
  if (d != std::floor(d) || d < lo || d > hi)
    throw_js(env, "E_INVALID_ARG", std::string("expected an integer in [") + std::to_string(lo) + ", " +
                                       std::to_string(hi) + "] for " + key + ", got " + std::to_string(d));
  return static_cast<int>(d);
}
std::string get_string(Napi::Env env, const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw_js(env, "E_INVALID_ARG", std::string("expected a string for ") + key);
  return v.As<Napi::String>().Utf8Value();
}
bool get_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}
uint64_t to_seed(Napi::Env env, Napi::Value v) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", "expected an integer seed");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d))
    throw_js(env, "E_INVALID_ARG", "expected an integer seed in [0, 2^53), got " + std::to_string(d));
  return static_cast<uint64_t>(d);
}
InitSpec parse_init(Napi::Env env, const Napi::Object& o) {
  InitSpec s;
  try {
    s.dist = parse_dist(get_string(env, o, "dist", "uniform"));
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  s.scale = static_cast<float>(get_number(env, o, "scale", 1.0));
  s.relative_to_fan_in = get_bool(o, "relative", true);
  return s;
}

template <typename T>
T* typed_data(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* what, size_t* length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_js(env, "E_DTYPE", std::string("expected ") +
                                 (type == napi_float32_array ? "a Float32Array" : "an Int32Array") + " for " + what);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *length = ta.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

Napi::Object stats_to_js(Napi::Env env, const PassStats& s) {
  Napi::Object o = Napi::Object::New(env);
  auto loss = Napi::Float32Array::New(env, s.loss_sum.size());
  auto correct = Napi::Float32Array::New(env, s.correct.size());
  auto size = Napi::Int32Array::New(env, s.size.size());
  for (size_t i = 0; i < s.size.size(); ++i) {
    loss[i] = s.loss_sum[i];
    correct[i] = s.correct[i];
    size[i] = s.size[i];
  }
  o.Set("lossSum", loss);
  o.Set("correct", correct);
  o.Set("size", size);
  return o;
}

std::shared_ptr<Backend> backend_or_throw(Napi::Env env, const std::string& name) {
  try {
    return get_backend(name);
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
}

// ---------------------------------------------------------------- DatasetHandle
class DatasetWrap : public Napi::ObjectWrap<DatasetWrap> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeDataset", {InstanceAccessor<&DatasetWrap::Size>("size")});
    ctor = Napi::Persistent(f);
    exports.Set("NativeDataset", f);
  }
  explicit DatasetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatasetWrap>(info) {}
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ds ? ds->n : 0); }
  std::shared_ptr<DeviceDataset> ds;
};
Napi::FunctionReference DatasetWrap::ctor;

// createDataset(backend, x, inputSize, labels|null, classes, values|null, width) -> Promise<NativeDataset>
Napi::Value CreateDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = backend_or_throw(env, info[0].As<Napi::String>().Utf8Value());
  size_t nx = 0, nl = 0, nv = 0;
  const float* x = typed_data<float>(env, info[1], napi_float32_array, "x", &nx);
  const int input_size = info[2].As<Napi::Number>().Int32Value();
  const int32_t* labels = info[3].IsNull() ? nullptr : typed_data<int32_t>(env, info[3], napi_int32_array, "labels", &nl);
  const int classes = info[4].As<Napi::Number>().Int32Value();
  const float* values = info[5].IsNull() ? nullptr : typed_data<float>(env, info[5], napi_float32_array, "values", &nv);
  const int width = info[6].As<Napi::Number>().Int32Value();
  if (input_size <= 0 || nx % input_size != 0)
    throw_js(env, "E_SHAPE", "expected x length to be a multiple of inputSize " + std::to_string(input_size));
  const int n = static_cast<int>(nx / input_size);
  if (labels && nl != (size_t)n) throw_js(env, "E_SHAPE", "expected " + std::to_string(n) + " labels, got " + std::to_string(nl));
  if (values && (width <= 0 || nv != (size_t)n * width))
    throw_js(env, "E_SHAPE", "expected " + std::to_string((size_t)n * std::max(width, 0)) + " target values, got " + std::to_string(nv));
  auto result = std::make_shared<std::shared_ptr<DeviceDataset>>();
  return AsyncJob::run(
      env, [=] { *result = DeviceDataset::create(be, x, n, input_size, labels, classes, values, width); },
      [result](Napi::Env env) {
        Napi::Object obj = DatasetWrap::ctor.New({});
        DatasetWrap::Unwrap(obj)->ds = *result;
        return obj;
      },
      nullptr, {info[1], info[3], info[5]});
}

std::shared_ptr<DeviceDataset> unwrap_dataset(Napi::Env env, Napi::Value v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(DatasetWrap::ctor.Value()))
    throw_js(env, "E_INVALID_ARG", "expected a NativeDataset");
  auto ds = DatasetWrap::Unwrap(v.As<Napi::Object>())->ds;
  if (!ds) throw_js(env, "E_DISPOSED", "the dataset was disposed");
  return ds;
}

// ---------------------------------------------------------------- MlpHandle
class MlpWrap : public Napi::ObjectWrap<MlpWrap> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeMlp",
                                   {
                                       InstanceMethod<&MlpWrap::Train>("train"),
                                       InstanceMethod<&MlpWrap::Evaluate>("evaluate"),
                                       InstanceMethod<&MlpWrap::Predict>("predict"),
                                       InstanceMethod<&MlpWrap::Gradients>("gradients"),
                                       InstanceMethod<&MlpWrap::Params>("params"),
                                       InstanceMethod<&MlpWrap::GetParams>("getParams"),
                                       InstanceMethod<&MlpWrap::SetParams>("setParams"),
                                       InstanceMethod<&MlpWrap::GetTensor>("getTensor"),
                                       InstanceMethod<&MlpWrap::ResetOptimizer>("resetOptimizer"),
                                       InstanceMethod<&MlpWrap::Dispose>("dispose"),
                                   });
    ctor = Napi::Persistent(f);
    exports.Set("NativeMlp", f);
  }
  explicit MlpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MlpWrap>(info) {}

  std::shared_ptr<Mlp> model;
  std::shared_ptr<std::atomic<bool>> busy = std::make_shared<std::atomic<bool>>(false);

  std::shared_ptr<Mlp> live(Napi::Env env) {
    if (!model) throw_js(env, "E_DISPOSED", "the model was disposed");
    return model;
  }

  // train(dataset, idx: Int32Array, batch, lr) -> Promise<{lossSum, correct, size}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_dataset(env, info[0]);
    size_t n = 0;
    const int32_t* idx = typed_data<int32_t>(env, info[1], napi_int32_array, "indices", &n);
    std::vector<int32_t> indices(idx, idx + n);
    const int batch = info[2].As<Napi::Number>().Int32Value();
    const float lr = info[3].As<Napi::Number>().FloatValue();
    auto out = std::make_shared<PassStats>();
    return AsyncJob::run(
        env, [=, indices = std::move(indices)] { *out = m->train(*ds, indices, batch, lr); },
        [out](Napi::Env env) { return stats_to_js(env, *out); }, busy);
  }

  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_dataset(env, info[0]);
    const int batch = info[1].As<Napi::Number>().Int32Value();
    auto out = std::make_shared<PassStats>();
    return AsyncJob::run(
        env, [=] { *out = m->evaluate(*ds, batch); }, [out](Napi::Env env) { return stats_to_js(env, *out); }, busy);
  }

  // predict(x: Float32Array) -> Promise<Float32Array [n, O]>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    size_t nx = 0;
    const float* x = typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    const int I = m->spec().layers[0].in, O = m->spec().layers.back().out;
    if (nx == 0 || nx % I != 0)
      throw_js(env, nx == 0 ? "E_EMPTY" : "E_SHAPE", "expected x length a non-zero multiple of " + std::to_string(I) + ", got " + std::to_string(nx));
    const int n = static_cast<int>(nx / I);
    auto out = std::make_shared<std::vector<float>>();
    return AsyncJob::run(
        env,
        [=] {
          out->resize((size_t)n * O);
          m->predict(x, n, out->data());
        },
        [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); }, busy, {info[0]});
  }

  // gradients(x, labels|null, values|null) -> Promise<{loss, grads: {name: Float32Array}}>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    size_t nx = 0, nl = 0, nv = 0;
    const float* x = typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    const int I = m->spec().layers[0].in;
    const int n = static_cast<int>(nx / I);
    const int32_t* labels = info[1].IsNull() ? nullptr : typed_data<int32_t>(env, info[1], napi_int32_array, "labels", &nl);
    const float* values = info[2].IsNull() ? nullptr : typed_data<float>(env, info[2], napi_float32_array, "values", &nv);
    auto loss = std::make_shared<double>(0);
    auto grads = std::make_shared<std::vector<std::pair<std::string, std::vector<float>>>>();
    return AsyncJob::run(
        env,
        [=] {
          *loss = m->gradients(x, labels, values, n);
          for (const auto& p : m->params()) {
            std::vector<float> g(p.size);
            m->get_grad(p.name, g.data());
            grads->emplace_back(p.name, std::move(g));
          }
        },
        [=](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("loss", *loss);
          Napi::Object g = Napi::Object::New(env);
          for (auto& kv : *grads) g.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          o.Set("grads", g);
          return o;
        },
        busy, {info[0], info[1], info[2]});
  }

  Napi::Value Params(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ps = m->params();
    Napi::Array arr = Napi::Array::New(env, ps.size());
    for (size_t i = 0; i < ps.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ps[i].name);
      o.Set("size", Napi::Number::New(env, static_cast<double>(ps[i].size)));
      arr[i] = o;
    }
    return arr;
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto vals = std::make_shared<std::vector<std::pair<std::string, std::vector<float>>>>();
    return AsyncJob::run(
        env,
        [=] {
          for (const auto& p : m->params()) {
            std::vector<float> v(p.size);
            m->get_param(p.name, v.data());
            vals->emplace_back(p.name, std::move(v));
          }
        },
        [=](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          for (auto& kv : *vals) o.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          return o;
        },
        busy);
  }

  // setParams({name: Float32Array}) -> Promise<void>; every trainable tensor must be present.
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (!info[0].IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object of Float32Arrays");
    Napi::Object o = info[0].As<Napi::Object>();
    auto vals = std::make_shared<std::vector<std::pair<std::string, std::vector<float>>>>();
    for (const auto& p : m->params()) {
      size_t n = 0;
      const float* d = typed_data<float>(env, o.Get(p.name), napi_float32_array, p.name.c_str(), &n);
      if (n != p.size)
        throw_js(env, "E_SHAPE", "expected " + std::to_string(p.size) + " values for " + p.name + ", got " + std::to_string(n));
      vals->emplace_back(p.name, std::vector<float>(d, d + n));
    }
    return AsyncJob::run(
        env, [=] { for (auto& kv : *vals) m->set_param(kv.first, kv.second.data()); },
        [](Napi::Env env) { return env.Undefined(); }, busy);
  }

  // getTensor(layer, isBias) -> Promise<Float32Array>: any weight or bias, frozen or not.
  Napi::Value GetTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    const int layer = info[0].As<Napi::Number>().Int32Value();
    const bool bias = info[1].ToBoolean().Value();
    if (layer < 0 || layer >= (int)m->spec().layers.size()) throw_js(env, "E_INVALID_ARG", "layer index out of range");
    const LayerSpec& s = m->spec().layers[layer];
    auto out = std::make_shared<std::vector<float>>(bias ? (size_t)s.out : (size_t)s.in * s.out);
    return AsyncJob::run(
        env, [=] { m->get_tensor(layer, bias, out->data()); },
        [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); }, busy);
  }

  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    return AsyncJob::run(env, [=] { m->reset_optimizer(); }, [](Napi::Env env) { return env.Undefined(); }, busy);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy->load()) throw_js(info.Env(), "E_CONCURRENT", "cannot dispose a model while an operation is running");
    model.reset();
    return info.Env().Undefined();
  }
};
Napi::FunctionReference MlpWrap::ctor;

// createMlp(spec, backend) -> Promise<NativeMlp>
Napi::Value CreateMlp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_js(env, "E_INVALID_ARG", "expected a model spec object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto be = backend_or_throw(env, info[1].As<Napi::String>().Utf8Value());
  MlpSpec spec;
  try {
    spec.seed = to_seed(env, o.Get("seed"));
    spec.loss = parse_loss(get_string(env, o, "loss", "softmax-cross-entropy"));
    Napi::Object opt = get_object(env, o, "optimizer");
    spec.optimizer.kind = parse_optimizer(get_string(env, opt, "kind", "adam"));
    spec.optimizer.beta1 = static_cast<float>(get_number(env, opt, "beta1", 0.9));
    spec.optimizer.beta2 = static_cast<float>(get_number(env, opt, "beta2", 0.999));
    spec.optimizer.eps = static_cast<float>(get_number(env, opt, "eps", 1e-8));
    spec.optimizer.momentum = static_cast<float>(get_number(env, opt, "momentum", 0.0));
    spec.optimizer.nesterov = get_bool(opt, "nesterov", false);
    spec.optimizer.weight_decay = static_cast<float>(get_number(env, opt, "weightDecay", 0.0));
    Napi::Value lv = o.Get("layers");
    if (!lv.IsArray()) throw_js(env, "E_INVALID_ARG", "expected an array for layers");
    Napi::Array layers = lv.As<Napi::Array>();
    for (uint32_t i = 0; i < layers.Length(); ++i) {
      Napi::Value v = layers[i];
      if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object for each layer");
      Napi::Object lo = v.As<Napi::Object>();
      LayerSpec ls;
      ls.in = get_int(env, lo, "in", 1, 1 << 30);
      ls.out = get_int(env, lo, "out", 1, 1 << 30);
      ls.act = parse_act(get_string(env, lo, "activation", "relu"));
      ls.weight_init = parse_init(env, get_object(env, lo, "weightInit"));
      ls.bias_init = parse_init(env, get_object(env, lo, "biasInit"));
      ls.train_weight = get_bool(lo, "trainWeight", false);
      ls.train_bias = get_bool(lo, "trainBias", true);
      spec.layers.push_back(ls);
    }
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  auto result = std::make_shared<std::shared_ptr<Mlp>>();
  return AsyncJob::run(
      env, [=] { *result = std::make_shared<Mlp>(be, spec); },
      [result](Napi::Env env) {
        Napi::Object obj = MlpWrap::ctor.New({});
        MlpWrap::Unwrap(obj)->model = *result;
        return obj;
      });
}

// fillWeights(backend, rows, cols, seed, stream, dist, a) -> Promise<Float32Array>
Napi::Value FillWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = backend_or_throw(env, info[0].As<Napi::String>().Utf8Value());
  const int rows = info[1].As<Napi::Number>().Int32Value(), cols = info[2].As<Napi::Number>().Int32Value();
  if (rows <= 0 || cols <= 0) throw_js(env, "E_INVALID_ARG", "expected rows and cols >= 1");
  const uint64_t seed = to_seed(env, info[3]);
  const uint32_t stream = info[4].As<Napi::Number>().Uint32Value();
  Dist dist;
  try {
    dist = parse_dist(info[5].As<Napi::String>().Utf8Value());
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
  const double a = info[6].As<Napi::Number>().DoubleValue();
  auto out = std::make_shared<std::vector<float>>((size_t)rows * cols);
  return AsyncJob::run(
      env,
      [=] {
        DeviceBuffer buf(be, out->size() * sizeof(float));
        be->fill_weights(buf.f32(), rows, cols, seed, stream, dist, a);
        be->download(out->data(), buf.data(), out->size() * sizeof(float));
      },
      [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); });
}

// benchGemm(backend, M, N, K, reps, transB) -> Promise<seconds per product (median)>
Napi::Value BenchGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = backend_or_throw(env, info[0].As<Napi::String>().Utf8Value());
  const int M = info[1].As<Napi::Number>().Int32Value(), N = info[2].As<Napi::Number>().Int32Value(),
            K = info[3].As<Napi::Number>().Int32Value(), reps = info[4].As<Napi::Number>().Int32Value();
  const bool tb = info[5].ToBoolean().Value();
  if (M <= 0 || N <= 0 || K <= 0 || reps <= 0) throw_js(env, "E_INVALID_ARG", "expected positive sizes and reps");
  auto secs = std::make_shared<double>(0);
  return AsyncJob::run(
      env,
      [=] {
        DeviceBuffer A(be, (size_t)M * K * 4), B(be, (size_t)K * N * 4), C(be, (size_t)M * N * 4);
        be->fill_weights(A.f32(), M, K, 1, 0, Dist::Uniform, 1.0);
        be->fill_weights(B.f32(), K, N, 1, 1, Dist::Uniform, 1.0);
        be->gemm(false, tb, M, N, K, 1.0f, A.f32(), K, B.f32(), tb ? K : N, 0.0f, C.f32(), N);  // warm-up
        be->synchronize();
        std::vector<double> t;
        for (int r = 0; r < reps; ++r) {
          auto t0 = std::chrono::steady_clock::now();
          be->gemm(false, tb, M, N, K, 1.0f, A.f32(), K, B.f32(), tb ? K : N, 0.0f, C.f32(), N);
          be->synchronize();
          t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(t.begin(), t.end());
        *secs = t[t.size() / 2];
      },
      [secs](Napi::Env env) { return Napi::Number::New(env, *secs); });
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("backends", compiled_backends());
  o.Set("gemm", cpu_gemm_impl());
  o.Set("threads", cpu_threads());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int t = info[0].As<Napi::Number>().Int32Value();
  set_cpu_threads(t);
  cpu_set_blas_threads(cpu_threads());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  DatasetWrap::Init(env, exports);
  MlpWrap::Init(env, exports);
  exports.Set("createDataset", Napi::Function::New(env, CreateDataset));
  exports.Set("createMlp", Napi::Function::New(env, CreateMlp));
  exports.Set("fillWeights", Napi::Function::New(env, FillWeights));
  exports.Set("benchGemm", Napi::Function::New(env, BenchGemm));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("runKernel", Napi::Function::New(env, RunKernel));
  for (ExportsInit init : exports_registry()) init(env, exports);
  return exports;
}

}  // namespace bl

static Napi::Object InitBiaslearn(Napi::Env env, Napi::Object exports) { return bl::Init(env, exports); }

NODE_API_MODULE(biaslearn, InitBiaslearn)
