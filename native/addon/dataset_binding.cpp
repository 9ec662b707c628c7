// NativeDataset and createDataset(backend, x, inputSize, labels|null, classes, values|null, width).
#include "dataset_binding.h"

#include "binding_util.h"
#include "exports_registry.h"

namespace bl {

namespace {

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

void InitDataset(Napi::Env env, Napi::Object exports) {
  DatasetWrap::Init(env, exports);
  exports.Set("createDataset", Napi::Function::New(env, CreateDataset));
}

}  // namespace

BL_REGISTER_EXPORTS(InitDataset);

std::shared_ptr<DeviceDataset> unwrap_dataset(Napi::Env env, Napi::Value v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(DatasetWrap::ctor.Value()))
    throw_js(env, "E_INVALID_ARG", "expected a NativeDataset");
  auto ds = DatasetWrap::Unwrap(v.As<Napi::Object>())->ds;
  if (!ds) throw_js(env, "E_DISPOSED", "the dataset was disposed");
  return ds;
}

// ---------------------------------------------------------------- MlpHandle

}  // namespace bl
