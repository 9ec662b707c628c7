// NativeMlp (mlp/mlp.h) and createMlp(spec, backend): every method returns a Promise and runs
// off the JS thread; one operation at a time per model (busy flag, E_CONCURRENT).
#include <napi.h>

#include <memory>
#include <vector>

#include "../mlp/mlp.h"
#include "binding_util.h"
#include "staged_copy.h"
#include "pass_stats_js.h"
#include "dataset_binding.h"
#include "exports_registry.h"

namespace bl {

namespace {

// NativeMlp: the shared model methods (ModelWrap) plus train, evaluate, predict, gradients.
class MlpWrap : public ModelWrap<MlpWrap, Mlp> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    define(env, exports, "NativeMlp",
           {InstanceMethod<&MlpWrap::Train>("train"), InstanceMethod<&MlpWrap::Evaluate>("evaluate"),
            InstanceMethod<&MlpWrap::Predict>("predict"), InstanceMethod<&MlpWrap::Gradients>("gradients")});
  }
  explicit MlpWrap(const Napi::CallbackInfo& info) : ModelWrap(info) {}

  // train(dataset, idx: Int32Array, batch, lr, cacheInputLayer?, clip?) -> Promise<{lossSum, correct, sqError, size}>
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_dataset(env, info[0]);
    std::vector<int32_t> indices = copy_i32(env, info[1], "indices");
    const int batch = arg_int(env, info[2], "batchSize", 1, 1 << 30);
    const float lr = arg_float(env, info[3], "lr");
    const bool cache = arg_bool_or(env, info[4], "cacheInputLayer", false);
    const float clip = info[5].IsUndefined() ? 0.0f : arg_float(env, info[5], "clip");
    return result_job(
        env, [=, indices = std::move(indices)](Mlp& m) { return m.train(*ds, indices, batch, lr, cache, clip); },
        stats_to_js);
  }

  // evaluate(dataset, batch) -> Promise<{lossSum, correct, sqError, size}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    auto ds = unwrap_dataset(env, info[0]);
    const int batch = arg_int(env, info[1], "batchSize", 1, 1 << 30);
    return result_job(env, [=](Mlp& m) { return m.evaluate(*ds, batch); }, stats_to_js);
  }

  // predict(x: Float32Array [n, I]) -> Promise<Float32Array [n, O]>; x copied (staged_copy.h); a
  // non-finite output (inputs or parameters too large for float32) is E_NONFINITE.
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    const int I = m->spec().layers[0].in, O = m->spec().layers.back().out;
    size_t nx = 0;
    typed_data<float>(env, info[0], napi_float32_array, "x", &nx);
    const int n = rows_of(env, nx, I, "x");
    const size_t ny = count_of(env, {(uint64_t)n, (uint64_t)O}, "the predictions");
    auto flag = busy;  // the wrapper itself may be gone when the copy is made: hold the model and its flag
    return StagedCopy::run(env, {info[0]}, {"x"}, [m, flag, n, ny, O](Napi::Env env, std::vector<SharedF32> c) {
      SharedF32 x = c[0];
      auto y = std::make_shared<std::vector<float>>();
      return AsyncJob::run(
          env,
          [=] {
            y->resize(ny);
            m->predict(x->data(), n, y->data());
            require_finite_outputs(*y, O, "prediction");
          },
          [y](Napi::Env env) { return to_float32_array(env, std::move(*y)); }, flag);
    });
  }

  // gradients(x [n, I], labels [n] | null, values [n, O] | null) -> Promise<{loss, grads: {name: Float32Array}}>
  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    const int I = m->spec().layers[0].in, O = m->spec().layers.back().out;
    const bool xent = m->spec().loss == Loss::SoftmaxCrossEntropy;
    std::vector<float> x = copy_f32(env, info[0], "x");
    const int n = rows_of(env, x.size(), I, "x");
    bool has_labels = false, has_values = false;
    std::vector<int32_t> labels = copy_i32_opt(env, info[1], "labels", &has_labels);
    std::vector<float> values = copy_f32_opt(env, info[2], "values", &has_values);
    if (xent && !has_labels) throw_js(env, "E_INVALID_ARG", "expected an Int32Array of labels");
    if (!xent && !has_values) throw_js(env, "E_INVALID_ARG", "expected a Float32Array of target values");
    if (xent)
      expect_length(env, labels.size(), (size_t)n, "labels");
    else
      expect_length(env, values.size(), (size_t)n * O, "target values");
    return gradients_job(
        env,
        [x = std::move(x), labels = std::move(labels), values = std::move(values), n, xent](Mlp& m) {
          return m.gradients(x.data(), xent ? labels.data() : nullptr, xent ? nullptr : values.data(), n);
        },
        number_js);
  }
};

// createMlp(spec, backend) -> Promise<NativeMlp>
Napi::Value CreateMlp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(env, info[0], "model spec");
  auto be = read_backend(env, info[1]);
  MlpSpec spec;
  spec.seed = read_seed(env, o.Get("seed"));
  spec.loss = parsed(env, [&] { return parse_loss(read_string(env, o, "loss", "softmax-cross-entropy")); });
  spec.optimizer = read_optimizer(env, o.Get("optimizer"));
  spec.precision = read_precision(env, o);
  Napi::Array layers = read_array(env, o, "layers");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Object lo = arg_object(env, layers[i], "layers[" + std::to_string(i) + "]");
    LayerSpec ls;
    ls.in = read_int(env, lo, "in", 1, 1 << 30);
    ls.out = read_int(env, lo, "out", 1, 1 << 30);
    ls.act = parsed(env, [&] { return parse_act(read_string(env, lo, "activation", "relu")); });
    ls.weight_init = read_init(env, lo.Get("weightInit"), "weightInit");
    ls.bias_init = read_init(env, lo.Get("biasInit"), "biasInit");
    ls.train_weight = read_bool(env, lo, "trainWeight", false);
    ls.train_bias = read_bool(env, lo, "trainBias", true);
    spec.layers.push_back(ls);
  }
  spec.shard = read_width_shard(env, o);
  return create_job<MlpWrap, &MlpWrap::model>(env, [=] { return std::make_shared<Mlp>(be, spec); });
}

void InitMlp(Napi::Env env, Napi::Object exports) {
  MlpWrap::Init(env, exports);
  exports.Set("createMlp", Napi::Function::New(env, CreateMlp));
}

}  // namespace

BL_REGISTER_EXPORTS(InitMlp);

}  // namespace bl
