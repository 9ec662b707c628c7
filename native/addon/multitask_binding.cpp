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
#include "staged_copy.h"
#include "exports_registry.h"

namespace bl {

namespace {

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
    Napi::Function f =
        DefineClass(env, "NativeMultitaskDataset",
                    {InstanceAccessor<&MtDatasetWrap::Size>("size"), InstanceAccessor<&MtDatasetWrap::Tasks>("tasks")});
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
  return unwrap_held<MtDatasetWrap, &MtDatasetWrap::ds>(env, v, "NativeMultitaskDataset");
}

// createMultitaskDataset(backend, x [n, inputSize], inputSize, labels [n], task [n], classes: Int32Array [K])
//   -> Promise<NativeMultitaskDataset>. Every array is copied on the JS thread (binding_util.h);
//   MultitaskData::create checks task ids and label ranges on the copies.
Napi::Value CreateMultitaskDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  const int input = arg_int(env, info[2], "inputSize", 1, 1 << 30);
  size_t nx = 0;
  typed_data<float>(env, info[1], napi_float32_array, "x", &nx);
  auto labels = std::make_shared<std::vector<int32_t>>(copy_i32(env, info[3], "labels"));
  auto task = std::make_shared<std::vector<int32_t>>(copy_i32(env, info[4], "task"));
  const std::vector<int32_t> cls = copy_i32(env, info[5], "classes");
  const int n = rows_of(env, nx, input, "x");
  expect_length(env, labels->size(), (size_t)n, "labels");
  expect_length(env, task->size(), (size_t)n, "task ids");
  std::vector<int> classes(cls.begin(), cls.end());
  return StagedCopy::run(env, {info[1]}, {"x"}, [=](Napi::Env env, std::vector<SharedF32> c) {
    SharedF32 x = c[0];
    return create_job<MtDatasetWrap, &MtDatasetWrap::ds>(
        env, [=] { return MultitaskData::create(be, x->data(), n, input, labels->data(), task->data(), classes); });
  });
}

// ---------------------------------------------------------------- NativeMultitaskMlp
// NativeMultitaskMlp: the shared model methods (ModelWrap) plus its own.
class MtMlpWrap : public ModelWrap<MtMlpWrap, MultitaskMlp> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    define(
        env, exports, "NativeMultitaskMlp",
        {InstanceMethod<&MtMlpWrap::Train>("train"), InstanceMethod<&MtMlpWrap::Evaluate>("evaluate"),
         InstanceMethod<&MtMlpWrap::Predict>("predict"), InstanceMethod<&MtMlpWrap::Gradients>("gradients"),
         InstanceMethod<&MtMlpWrap::Activity>("activity"),
         InstanceMethod<&MtMlpWrap::SetTaskTrainable>("setTaskTrainable"),
         InstanceMethod<&MtMlpWrap::TaskSteps>("taskSteps"), InstanceAccessor<&MtMlpWrap::ReadoutWidth>("readoutWidth"),
         InstanceAccessor<&MtMlpWrap::Offsets>("readoutOffsets")});
  }
  explicit MtMlpWrap(const Napi::CallbackInfo& info) : ModelWrap(info) {}

  Napi::Value ReadoutWidth(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), live(info.Env())->readout_width());
  }
  Napi::Value Offsets(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    auto a = Napi::Int32Array::New(info.Env(), m->tasks());
    for (int k = 0; k < m->tasks(); ++k) a[k] = m->logit_offset(k);
    return a;
  }

  // train(ds, idx: Int32Array, batch, lr, slope, cacheInput, clip?) -> Promise<stats>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_ds(env, info[0]);
    std::vector<int32_t> indices = copy_i32(env, info[1], "indices");
    const int batch = arg_int(env, info[2], "batchSize", 1, 1 << 30);
    const float lr = arg_float(env, info[3], "lr");
    const float slope = arg_float(env, info[4], "slope");
    const bool cache = arg_bool_or(env, info[5], "cacheInput", false);
    const float clip = info[6].IsUndefined() ? 0.0f : arg_float(env, info[6], "clip");
    return result_job(
        env,
        [=, indices = std::move(indices)](MultitaskMlp& m) {
          return m.train(*ds, indices, batch, lr, slope, cache, clip);
        },
        stats_to_js);
  }

  // evaluate(ds, batch, hard, slope) -> Promise<stats>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_ds(env, info[0]);
    const int batch = arg_int(env, info[1], "batchSize", 1, 1 << 30);
    const bool hard = arg_bool(env, info[2], "hard");
    const float slope = arg_float(env, info[3], "slope");
    return result_job(env, [=](MultitaskMlp& m) { return m.evaluate(*ds, batch, hard, slope); }, stats_to_js);
  }

  // predict(x, task: Int32Array, hard, slope) -> Promise<Float32Array [n, R]>; x copied (staged_copy.h),
  // task ids on the JS thread; a non-finite logit of a row's own task is E_NONFINITE.
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    size_t nx = 0;
    typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    auto task = std::make_shared<std::vector<int32_t>>(copy_i32(env, info[1], "task"));
    const bool hard = arg_bool(env, info[2], "hard");
    const float slope = arg_float(env, info[3], "slope");
    const int I = m->spec().input, R = m->readout_width();
    const int n = rows_of(env, nx, I, "x");
    expect_length(env, task->size(), (size_t)n, "task ids");
    const size_t ny = count_of(env, {(uint64_t)n, (uint64_t)R}, "the predictions");
    auto flag = busy;  // the wrapper itself may be gone when the copy is made: hold the model and its flag
    return StagedCopy::run(env, {info[0]}, {"x"},
                           [m, flag, task, n, hard, slope, ny, R](Napi::Env env, std::vector<SharedF32> c) {
                             SharedF32 x = c[0];
                             auto y = std::make_shared<std::vector<float>>();
                             return AsyncJob::run(
                                 env,
                                 [=] {
                                   y->resize(ny);
                                   m->predict(x->data(), task->data(), n, hard, slope, y->data());
                                   for (int i = 0; i < n; ++i) {
                                     const int k = (*task)[i];
                                     require_finite_outputs(y->data() + (size_t)i * R + m->logit_offset(k),
                                                            m->spec().classes[k], "prediction", i);
                                   }
                                 },
                                 [y](Napi::Env env) { return to_float32_array(env, std::move(*y)); }, flag);
                           });
  }

  // gradients(x, labels, task, slope) -> Promise<{ loss: Float64Array [K], grads: {name: Float32Array} }>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    std::vector<float> x = copy_f32(env, info[0], "x");
    std::vector<int32_t> labels = copy_i32(env, info[1], "labels");
    std::vector<int32_t> task = copy_i32(env, info[2], "task");
    const float slope = arg_float(env, info[3], "slope");
    const int n = rows_of(env, x.size(), m->spec().input, "x");
    expect_length(env, labels.size(), (size_t)n, "labels");
    expect_length(env, task.size(), (size_t)n, "task ids");
    return gradients_job(
        env,
        [x = std::move(x), labels = std::move(labels), task = std::move(task), n, slope](MultitaskMlp& m) {
          return m.gradients(x.data(), labels.data(), task.data(), n, slope);
        },
        [](Napi::Env env, const std::vector<double>& loss) { return f64(env, loss); });
  }

  // activity(ds, layer, batch, threshold, hard, slope) -> Promise<{count, mean, var, active}>
  Napi::Value Activity(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_ds(env, info[0]);
    const int layer = arg_int(env, info[1], "layer", 0, 1 << 20);
    const int batch = arg_int(env, info[2], "batchSize", 1, 1 << 30);
    const float threshold = arg_float(env, info[3], "threshold");
    const bool hard = arg_bool(env, info[4], "hard");
    const float slope = arg_float(env, info[5], "slope");
    return result_job(
        env, [=](MultitaskMlp& m) { return m.activity(*ds, layer, batch, threshold, hard, slope); },
        [](Napi::Env env, const MtActivityStats& a) {
          Napi::Object o = Napi::Object::New(env);
          auto count = Napi::Int32Array::New(env, a.count.size());
          for (size_t i = 0; i < a.count.size(); ++i) count[i] = a.count[i];
          o.Set("tasks", a.K);
          o.Set("units", a.H);
          o.Set("count", count);
          o.Set("mean", f64(env, a.mean));
          o.Set("variance", f64(env, a.var));
          o.Set("active", f64(env, a.active));
          return o;
        });
  }

  // setTaskTrainable(flags: Int32Array [K]) (synchronous; refused while a job runs)
  Napi::Value SetTaskTrainable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (busy->load()) throw_js(env, "E_CONCURRENT", "another operation on this model is still running; await it first");
    const std::vector<int32_t> f = copy_i32(env, info[0], "flags");
    std::vector<uint8_t> flags(f.size());
    for (size_t i = 0; i < f.size(); ++i) flags[i] = f[i] != 0;
    try {
      m->set_task_trainable(flags);
    } catch (const BlError& e) { throw_js(env, e.code(), e.what()); }
    return env.Undefined();
  }

  Napi::Value TaskSteps(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    Napi::Array a = Napi::Array::New(info.Env(), m->tasks());
    for (int k = 0; k < m->tasks(); ++k) a[k] = Napi::Number::New(info.Env(), static_cast<double>(m->task_steps(k)));
    return a;
  }
};

// createMultitaskMlp(spec, backend) -> Promise<NativeMultitaskMlp>
Napi::Value CreateMultitaskMlp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(env, info[0], "multi-task model spec");
  auto be = read_backend(env, info[1]);
  MultitaskSpec spec;
  spec.seed = read_seed(env, o.Get("seed"));
  spec.input = read_int(env, o, "input", 1, 1 << 30);
  Napi::Array hidden = read_array(env, o, "hidden");
  for (uint32_t i = 0; i < hidden.Length(); ++i)
    spec.hidden.push_back(arg_int(env, hidden[i], "hidden width", 1, 1 << 30));
  spec.act = parsed(env, [&] { return parse_act(read_string(env, o, "activation", "relu")); });
  Napi::Array wi = read_array(env, o, "weightInit"), bi = read_array(env, o, "biasInit");
  for (uint32_t i = 0; i < wi.Length(); ++i) spec.weight_init.push_back(read_init(env, wi[i], "weightInit"));
  for (uint32_t i = 0; i < bi.Length(); ++i) spec.bias_init.push_back(read_init(env, bi[i], "biasInit"));
  Napi::Array cls = read_array(env, o, "classes");
  for (uint32_t i = 0; i < cls.Length(); ++i) spec.classes.push_back(arg_int(env, cls[i], "classes", 1, 1 << 20));
  spec.per_task_readout = read_bool(env, o, "perTaskReadout", false);
  const std::string mode = read_string(env, o, "mode", "bias");
  if (mode == "bias")
    spec.mode = MtMode::Bias;
  else if (mode == "mask")
    spec.mode = MtMode::Mask;
  else if (mode == "full")
    spec.mode = MtMode::Full;
  else
    throw_js(env, "E_INVALID_ARG", "expected 'bias', 'mask' or 'full' for mode, got '" + mode + "'");
  spec.mask_init = static_cast<float>(read_number(env, o, "maskInit", 1.0));
  spec.shard = read_width_shard(env, o);
  spec.optimizer = read_optimizer(env, o.Get("optimizer"));
  spec.precision = read_precision(env, o);
  return create_job<MtMlpWrap, &MtMlpWrap::model>(env, [=] { return std::make_shared<MultitaskMlp>(be, spec); });
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
