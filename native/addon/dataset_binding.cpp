// NativeDataset and createDataset(backend, x, inputSize, labels|null, classes, values|null, width).
#include "dataset_binding.h"

#include "binding_util.h"
#include "staged_copy.h"
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

// createDataset(backend, x [n, inputSize], inputSize, labels [n] | null, classes, values [n, width] | null, width)
//   -> Promise<NativeDataset>. Every array is copied on the JS thread (x and values staged: staged_copy.h);
//   DeviceDataset::create checks label ranges (E_LABEL_RANGE) and finiteness (E_NONFINITE) on the copies.
Napi::Value CreateDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  const int input_size = arg_int(env, info[2], "inputSize", 1, 1 << 30);
  bool has_labels = false;
  size_t nx = 0, nv = 0;
  typed_data<float>(env, info[1], napi_float32_array, "x", &nx);
  auto labels = std::make_shared<std::vector<int32_t>>(copy_i32_opt(env, info[3], "labels", &has_labels));
  const int classes = has_labels ? arg_int(env, info[4], "classes", 1, 1 << 30) : 0;
  const bool has_values = !(info[5].IsNull() || info[5].IsUndefined());
  if (has_values) typed_data<float>(env, info[5], napi_float32_array, "values", &nv);
  const int width = has_values ? arg_int(env, info[6], "width", 1, 1 << 30) : 0;
  const int n = rows_of(env, nx, input_size, "x");
  if (!has_labels && !has_values) throw_js(env, "E_INVALID_ARG", "expected labels or target values for dataset");
  if (has_labels) expect_length(env, labels->size(), (size_t)n, "labels");
  if (has_values) expect_length(env, nv, (size_t)n * width, "target values");
  return StagedCopy::run(env, {info[1], info[5]}, {"x", "values"}, [=](Napi::Env env, std::vector<SharedF32> c) {
    SharedF32 x = c[0], values = c[1];
    return create_job<DatasetWrap, &DatasetWrap::ds>(env, [=] {
      return DeviceDataset::create(be, x->data(), n, input_size, has_labels ? labels->data() : nullptr, classes,
                                   data_or_null(values), width);
    });
  });
}

void InitDataset(Napi::Env env, Napi::Object exports) {
  DatasetWrap::Init(env, exports);
  exports.Set("createDataset", Napi::Function::New(env, CreateDataset));
}

}  // namespace

BL_REGISTER_EXPORTS(InitDataset);

std::shared_ptr<DeviceDataset> unwrap_dataset(Napi::Env env, Napi::Value v) {
  return unwrap_held<DatasetWrap, &DatasetWrap::ds>(env, v, "NativeDataset");
}

}  // namespace bl
