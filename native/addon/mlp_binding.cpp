// NativeMlp (mlp/mlp.h) and createMlp(spec, backend): every method returns a Promise and runs
// off the JS thread; one operation at a time per model (busy flag, E_CONCURRENT).
#include <napi.h>

#include <memory>
#include <vector>

#include "../mlp/mlp.h"
#include "binding_util.h"
#include "pass_stats_js.h"
#include "dataset_binding.h"
#include "exports_registry.h"

namespace bl {

namespace {


class MlpWrap : public Napi::ObjectWrap<MlpWrap>, public ModelSlot<Mlp> {
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
                                       InstanceMethod<&MlpWrap::DropInputCache>("dropInputCache"),
                                       InstanceMethod<&MlpWrap::Dispose>("dispose"),
                                   });
    ctor = Napi::Persistent(f);
    exports.Set("NativeMlp", f);
  }
  explicit MlpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MlpWrap>(info) {}

  // train(dataset, idx: Int32Array, batch, lr, cacheInputLayer) -> Promise<{lossSum, correct, size}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    auto ds = unwrap_dataset(env, info[0]);
    size_t n = 0;
    const int32_t* idx = typed_data<int32_t>(env, info[1], napi_int32_array, "indices", &n);
    std::vector<int32_t> indices(idx, idx + n);
    const int batch = info[2].As<Napi::Number>().Int32Value();
    const float lr = info[3].As<Napi::Number>().FloatValue();
    const bool cache = info.Length() > 4 && info[4].ToBoolean().Value();
    auto out = std::make_shared<PassStats>();
    return AsyncJob::run(
        env, [=, indices = std::move(indices)] { *out = m->train(*ds, indices, batch, lr, cache); },
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
    std::vector<TensorSlot> slots;
    for (const auto& p : m->params()) slots.push_back({p.name, p.size});
    return read_tensors_job(env, std::move(slots), [m](const std::string& n, float* d) { m->get_param(n, d); }, busy);
  }

  // setParams({name: Float32Array}) -> Promise<void>; every trainable tensor must be present.
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<TensorSlot> slots;
    for (const auto& p : m->params()) slots.push_back({p.name, p.size});
    return write_tensors_job(env, slots, info[0], [m](const std::string& n, const float* d) { m->set_param(n, d); }, busy);
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
    return void_job(info.Env(), [](Mlp& m) { m.reset_optimizer(); });
  }

  Napi::Value DropInputCache(const Napi::CallbackInfo& info) {
    return void_job(info.Env(), [](Mlp& m) { m.drop_input_cache(); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) { return dispose_model(info.Env()); }
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

void InitMlp(Napi::Env env, Napi::Object exports) {
  MlpWrap::Init(env, exports);
  exports.Set("createMlp", Napi::Function::New(env, CreateMlp));
}

}  // namespace

BL_REGISTER_EXPORTS(InitMlp);

}  // namespace bl
