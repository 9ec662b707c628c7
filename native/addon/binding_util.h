// Helpers shared by the binding files: argument readers that throw JS errors with a `code`,
// typed-array access, and conversions. Everything here runs on the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <cmath>
#include <initializer_list>
#include <new>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../backend/backend.h"
#include "../common/error.h"
#include "../common/sizes.h"
#include "../common/types.h"
#include "../train/params.h"
#include "../train/width_shard.h"
#include "async_job.h"
#include "collective_attach.h"

namespace bl {

[[noreturn]] inline void throw_js(Napi::Env env, const std::string& code, const std::string& msg) {
  throw make_error(env, code, msg);
}

// ---- argument readers
// One family with one strictness: a value of the wrong type is E_INVALID_ARG naming the field,
// never a silent fallback; only `undefined` takes the fallback, and only where one is given.
// Integers must be safe integers in the stated range (2^32 + 8 is refused, never wrapped to 8).
// arg_* read a positional argument, read_* a field of an options object.

inline double arg_number(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", "expected a number for " + what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d))
    throw_js(env, "E_INVALID_ARG", "expected a finite number for " + what + ", got " + std::to_string(d));
  return d;
}
inline float arg_float(Napi::Env env, const Napi::Value& v, const std::string& what) {
  return static_cast<float>(arg_number(env, v, what));
}
// An integer in [lo, hi] (lo, hi within +-(2^53 - 1)).
inline int64_t arg_int64(Napi::Env env, const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  const auto range = [&] { return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; };
  if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", "expected an integer in " + range() + " for " + what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw_js(env, "E_INVALID_ARG", "expected an integer in " + range() + " for " + what + ", got " + std::to_string(d));
  return static_cast<int64_t>(d);
}
inline int arg_int(Napi::Env env, const Napi::Value& v, const std::string& what, int lo, int hi) {
  return static_cast<int>(arg_int64(env, v, what, lo, hi));
}
inline bool arg_bool(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsBoolean()) throw_js(env, "E_INVALID_ARG", "expected a boolean for " + what);
  return v.As<Napi::Boolean>().Value();
}
inline std::string arg_string(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) throw_js(env, "E_INVALID_ARG", "expected a string for " + what);
  return v.As<Napi::String>().Utf8Value();
}
inline Napi::Object arg_object(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray()) throw_js(env, "E_INVALID_ARG", "expected an object for " + what);
  return v.As<Napi::Object>();
}
inline Napi::Array arg_array(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw_js(env, "E_INVALID_ARG", "expected an array for " + what);
  return v.As<Napi::Array>();
}
// An optional boolean positional argument (undefined: fallback).
inline bool arg_bool_or(Napi::Env env, const Napi::Value& v, const std::string& what, bool fallback) {
  return v.IsUndefined() ? fallback : arg_bool(env, v, what);
}

inline double read_number(Napi::Env env, const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : arg_number(env, v, key);
}
inline double read_number(Napi::Env env, const Napi::Object& o, const char* key) {
  return arg_number(env, o.Get(key), key);
}
inline int read_int(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi) {
  return arg_int(env, o.Get(key), key, lo, hi);
}
inline int read_int(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : arg_int(env, v, key, lo, hi);
}
inline bool read_bool(Napi::Env env, const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : arg_bool(env, v, key);
}
inline std::string read_string(Napi::Env env, const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : arg_string(env, v, key);
}
inline Napi::Object read_object(Napi::Env env, const Napi::Object& o, const char* key) {
  return arg_object(env, o.Get(key), key);
}
inline Napi::Array read_array(Napi::Env env, const Napi::Object& o, const char* key) {
  return arg_array(env, o.Get(key), key);
}

// A seed: an integer in [0, 2^53 - 1] (a Number, or a BigInt in that range), so distinct seeds
// never alias.
inline uint64_t read_seed(Napi::Env env, const Napi::Value& v) {
  constexpr uint64_t kMaxSeed = (1ull << 53) - 1;
  if (v.IsBigInt()) {
    bool lossless = true;
    const uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || s > kMaxSeed) throw_js(env, "E_INVALID_ARG", "expected an integer seed in [0, 2^53 - 1]");
    return s;
  }
  return static_cast<uint64_t>(arg_int64(env, v, "seed", 0, static_cast<int64_t>(kMaxSeed)));
}

// Runs a parser of common/types (parse_act, parse_dist, ...) with its BlError as a JS error.
template <typename Parse>
auto parsed(Napi::Env env, Parse parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const BlError& e) { throw_js(env, e.code(), e.what()); }
}

// {dist, scale, relative} with the fields of `fallback` where absent.
inline InitSpec read_init(Napi::Env env, const Napi::Value& v, const std::string& what,
                          InitSpec fallback = InitSpec{}) {
  Napi::Object o = arg_object(env, v, what);
  InitSpec s = fallback;
  if (!o.Get("dist").IsUndefined())
    s.dist = parsed(env, [&] { return parse_dist(arg_string(env, o.Get("dist"), what + ".dist")); });
  s.scale = static_cast<float>(read_number(env, o, "scale", s.scale));
  s.relative_to_fan_in = read_bool(env, o, "relative", s.relative_to_fan_in);
  return s;
}
// The optional init field `key` of o (undefined: fallback).
inline InitSpec read_init(Napi::Env env, const Napi::Object& o, const char* key, InitSpec fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : read_init(env, v, key, fallback);
}

// {kind: 'adam' | 'adamw' | 'sgd', beta1?, beta2?, eps?, momentum?, nesterov?, weightDecay?}
// The frozen-weight precision of a model spec: o.weightPrecision ('fp32' default, 'bf16') and
// o.tf32 (boolean, default false: Tf32 over fp32 weights).
inline Precision read_precision(Napi::Env env, Napi::Object o) {
  const Precision p = parsed(env, [&] { return parse_precision(read_string(env, o, "weightPrecision", "fp32")); });
  if (p == Precision::Tf32)
    throw_js(env, "E_INVALID_ARG", "expected 'fp32' or 'bf16' for weightPrecision (TF32: tf32)");
  const bool tf32 = read_bool(env, o, "tf32", false);
  if (tf32 && p == Precision::Bf16) throw_js(env, "E_CONFIG", "tf32 applies to fp32 weights, not to 'bf16'");
  return tf32 ? Precision::Tf32 : p;
}

inline OptimizerSpec read_optimizer(Napi::Env env, const Napi::Value& v) {
  Napi::Object o = arg_object(env, v, "optimizer");
  OptimizerSpec s;
  s.kind = parsed(env, [&] { return parse_optimizer(read_string(env, o, "kind", "adam")); });
  s.beta1 = static_cast<float>(read_number(env, o, "beta1", s.beta1));
  s.beta2 = static_cast<float>(read_number(env, o, "beta2", s.beta2));
  s.eps = static_cast<float>(read_number(env, o, "eps", s.eps));
  s.momentum = static_cast<float>(read_number(env, o, "momentum", s.momentum));
  s.nesterov = read_bool(env, o, "nesterov", s.nesterov);
  s.weight_decay = static_cast<float>(read_number(env, o, "weightDecay", s.weight_decay));
  return s;
}

inline std::shared_ptr<Backend> read_backend(Napi::Env env, const Napi::Value& v) {
  const std::string name = arg_string(env, v, "backend");
  return parsed(env, [&] { return get_backend(name); });
}

template <typename T>
inline T* typed_data(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* what, size_t* length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_js(
        env, "E_DTYPE",
        std::string("expected ") + (type == napi_float32_array ? "a Float32Array" : "an Int32Array") + " for " + what);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *length = ta.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

// Typed arrays a job reads are copied on the JS thread, all of them: indices, lengths and flags
// (labels, task ids, sample indices, conditions) and the float payloads (x, targets) alike, and
// validated natively on the copy. JavaScript can detach, transfer, resize or change the array
// while the job runs on a worker (ArrayBuffer.prototype.transfer, structuredClone with transfer,
// postMessage); the job never sees it: results are those of the values at call time. Results are
// written to native memory and handed to JavaScript when the job ends. The copy costs one memcpy
// on the JS thread (rough figure, docs/safety.md). Allocation failures are E_OOM naming the bytes.
template <typename T>
inline std::vector<T> copy_elements(Napi::Env env, const T* p, size_t n, const char* what) {
  try {
    return std::vector<T>(p, p + n);
  } catch (const std::bad_alloc&) {
    throw_js(env, "E_OOM",
             std::string("out of memory: copying ") + what + " needs " + std::to_string(n * sizeof(T)) + " bytes");
  }
}
inline std::vector<float> copy_f32(Napi::Env env, const Napi::Value& v, const char* what) {
  size_t n = 0;
  const float* p = typed_data<float>(env, v, napi_float32_array, what, &n);
  return copy_elements(env, p, n, what);
}
inline std::vector<int32_t> copy_i32(Napi::Env env, const Napi::Value& v, const char* what) {
  size_t n = 0;
  const int32_t* p = typed_data<int32_t>(env, v, napi_int32_array, what, &n);
  return copy_elements(env, p, n, what);
}
// A copy a job shares (datasets, predictions): std::shared_ptr so the job's closure stays copyable.
using SharedF32 = std::shared_ptr<const std::vector<float>>;
inline SharedF32 shared_f32(Napi::Env env, const Napi::Value& v, const char* what) {
  return std::make_shared<const std::vector<float>>(copy_f32(env, v, what));
}
// The same for an optional array: nullptr for null or undefined.
inline SharedF32 shared_f32_opt(Napi::Env env, const Napi::Value& v, const char* what) {
  return v.IsNull() || v.IsUndefined() ? nullptr : shared_f32(env, v, what);
}
// The data of an optional copy (nullptr when absent).
inline const float* data_or_null(const SharedF32& v) { return v ? v->data() : nullptr; }
// The product of dims checked before allocating (sizes.h): E_INVALID_ARG over 2^32 elements.
inline size_t count_of(Napi::Env env, std::initializer_list<uint64_t> dims, const std::string& what) {
  return parsed(env, [&] { return checked_count(dims, what); });
}
// The same for an optional array (null or undefined: empty, *present = false).
inline std::vector<float> copy_f32_opt(Napi::Env env, const Napi::Value& v, const char* what, bool* present) {
  *present = !(v.IsNull() || v.IsUndefined());
  return *present ? copy_f32(env, v, what) : std::vector<float>();
}
inline std::vector<int32_t> copy_i32_opt(Napi::Env env, const Napi::Value& v, const char* what, bool* present) {
  *present = !(v.IsNull() || v.IsUndefined());
  return *present ? copy_i32(env, v, what) : std::vector<int32_t>();
}
// Rows of a flat [n, width] array: n when the length is a non-zero multiple of width, else E_EMPTY / E_SHAPE.
inline int rows_of(Napi::Env env, size_t length, int width, const char* what) {
  if (length == 0) throw_js(env, "E_EMPTY", std::string("expected a non-empty ") + what);
  if (width <= 0 || length % (size_t)width != 0 || length / width > (size_t)(1 << 30))
    throw_js(env, "E_SHAPE",
             std::string("expected the length of ") + what + " to be a multiple of " + std::to_string(width) +
                 ", got " + std::to_string(length));
  return static_cast<int>(length / width);
}
inline void expect_length(Napi::Env env, size_t got, size_t want, const char* what) {
  if (got != want)
    throw_js(env, "E_SHAPE", "expected " + std::to_string(want) + " " + what + ", got " + std::to_string(got));
}

// ---- outputs (on the worker)
// Predictions are promised finite: a NaN or infinite output (inputs or parameters too large for
// float32, e.g. 3.4e38) is E_NONFINITE naming the row, never a silent NaN.
inline void require_finite_outputs(const float* v, size_t n, const char* what, size_t row) {
  for (size_t j = 0; j < n; ++j)
    if (!std::isfinite(v[j]))
      fail("E_NONFINITE", std::string("non-finite ") + what + " in row " + std::to_string(row) + " (" +
                              std::to_string(v[j]) + "): the inputs or the parameters overflow float32");
}
// The same for every row of a flat [rows, width] array.
inline void require_finite_outputs(const std::vector<float>& v, size_t width, const char* what) {
  for (size_t r = 0; width && r < v.size() / width; ++r) require_finite_outputs(v.data() + r * width, width, what, r);
}

// ---- learned-tensor jobs

// A learned tensor's name and element count, for the get/set jobs below.
struct TensorSlot {
  std::string name;
  size_t size;
};
using NamedTensors = std::vector<std::pair<std::string, std::vector<float>>>;

// Promise<{name: Float32Array}>: read(name, dst) fills each slot on a worker thread.
template <typename Read>
Napi::Promise read_tensors_job(Napi::Env env, std::vector<TensorSlot> slots, Read read,
                               std::shared_ptr<std::atomic<bool>> busy) {
  auto vals = std::make_shared<NamedTensors>();
  return AsyncJob::run(
      env,
      [=] {
        for (const TensorSlot& t : slots) {
          std::vector<float> v(t.size);
          read(t.name, v.data());
          vals->emplace_back(t.name, std::move(v));
        }
      },
      [=](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        for (auto& kv : *vals) o.Set(kv.first, to_float32_array(env, std::move(kv.second)));
        return o;
      },
      busy);
}

// Promise<void>: {name: Float32Array} with every slot present at its exact size and finite
// (checked on the JS thread: E_INVALID_ARG, E_DTYPE, E_SHAPE, E_NONFINITE), then
// write(name, src) for each slot and after() on a worker thread.
template <typename Write, typename After = void (*)()>
Napi::Promise write_tensors_job(
    Napi::Env env, const std::vector<TensorSlot>& slots, Napi::Value values, Write write,
    std::shared_ptr<std::atomic<bool>> busy, After after = [] {}) {
  if (!values.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object of Float32Arrays");
  Napi::Object o = values.As<Napi::Object>();
  auto vals = std::make_shared<NamedTensors>();
  for (const TensorSlot& t : slots) {
    size_t n = 0;
    const float* d = typed_data<float>(env, o.Get(t.name), napi_float32_array, t.name.c_str(), &n);
    if (n != t.size)
      throw_js(env, "E_SHAPE",
               "expected " + std::to_string(t.size) + " values for " + t.name + ", got " + std::to_string(n));
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(d[i]))
        throw_js(
            env, "E_NONFINITE",
            "expected finite values in " + t.name + ", got " + std::to_string(d[i]) + " at index " + std::to_string(i));
    vals->emplace_back(t.name, std::vector<float>(d, d + n));
  }
  return AsyncJob::run(
      env,
      [=] {
        for (auto& kv : *vals) write(kv.first, kv.second.data());
        after();
      },
      [](Napi::Env env) { return env.Undefined(); }, busy);
}

// ---- wrapped native objects (models, datasets)

// Promise<a new Wrap instance>: make() (returning a std::shared_ptr) runs on a worker thread and
// its result is stored in the instance's member `Member` (`&Wrap::model`, `&Wrap::ds`).
template <typename Wrap, auto Member, typename Make>
Napi::Promise create_job(Napi::Env env, Make make) {
  auto result = std::make_shared<decltype(make())>();
  return AsyncJob::run(
      env, [=] { *result = make(); },
      [result](Napi::Env env) {
        Napi::Object obj = Wrap::ctor.New({});
        Wrap::Unwrap(obj)->*Member = *result;
        return obj;
      },
      nullptr);
}

// The object a Wrap instance holds in `Member`: E_INVALID_ARG when v is not a Wrap, E_DISPOSED once released.
template <typename Wrap, auto Member>
auto unwrap_held(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Wrap::ctor.Value()))
    throw_js(env, "E_INVALID_ARG", std::string("expected a ") + what);
  auto held = Wrap::Unwrap(v.As<Napi::Object>())->*Member;
  if (!held) throw_js(env, "E_DISPOSED", std::string("the ") + what + " was disposed");
  return held;
}

// What every native model wrapper (NativeMlp, NativeMultitaskMlp, NativeRnn) holds: the model,
// the busy flag that lets one job at a time run on it, and E_DISPOSED after dispose(); and the
// methods over the model's ParamSet (Model::params()) that every kind shares. A wrapper derives
// from Napi::ObjectWrap<Wrap> and from this.
template <typename Model>
struct ModelSlot {
  std::shared_ptr<Model> model;
  std::shared_ptr<std::atomic<bool>> busy = std::make_shared<std::atomic<bool>>(false);

  std::shared_ptr<Model> live(Napi::Env env) const {
    if (!model) throw_js(env, "E_DISPOSED", "the model was disposed");
    return model;
  }

  // Promise<void>: fn(model) on a worker thread, holding the busy flag.
  template <typename Fn>
  Napi::Promise void_job(Napi::Env env, Fn fn) {
    auto m = live(env);
    return AsyncJob::run(env, [m, fn] { fn(*m); }, [](Napi::Env env) { return env.Undefined(); }, busy);
  }

  // dispose(): frees the model now; refused (E_CONCURRENT) while a job runs on it.
  Napi::Value dispose_model(Napi::Env env) {
    if (busy->load()) throw_js(env, "E_CONCURRENT", "cannot dispose a model while an operation is running");
    model.reset();
    return env.Undefined();
  }

  // tensors() (every tensor) or params() (the learned ones):
  // [{name, rows, cols, size, trainable, perTask}] in the table's order.
  Napi::Value list_tensors(Napi::Env env, bool learned_only) {
    auto m = live(env);
    std::vector<const Param*> ts;
    for (const Param& t : m->params().all())
      if (t.trainable || !learned_only) ts.push_back(&t);
    Napi::Array arr = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ts[i]->name);
      o.Set("rows", ts[i]->rows);
      o.Set("cols", ts[i]->cols);
      o.Set("size", Napi::Number::New(env, static_cast<double>(ts[i]->size())));
      o.Set("trainable", ts[i]->trainable);
      o.Set("perTask", ts[i]->per_task);
      arr[i] = o;
    }
    return arr;
  }

  std::vector<TensorSlot> learned_slots(const Model& m) const {
    std::vector<TensorSlot> slots;
    for (const Param& t : m.params().all())
      if (t.trainable) slots.push_back({t.name, t.size()});
    return slots;
  }

  // getParams() -> Promise<{name: Float32Array}> of every learned tensor.
  Napi::Value get_learned(Napi::Env env) {
    auto m = live(env);
    return read_tensors_job(
        env, learned_slots(*m), [m](const std::string& n, float* d) { m->params().read(n, d); }, busy);
  }

  // setParams({name: Float32Array}) -> Promise<void>; every learned tensor must be present.
  Napi::Value set_learned(Napi::Env env, Napi::Value values) {
    auto m = live(env);
    return write_tensors_job(
        env, learned_slots(*m), values, [m](const std::string& n, const float* d) { m->params().write(n, d); }, busy);
  }

  std::vector<TensorSlot> state_slots(const Model& m) const {
    std::vector<TensorSlot> slots;
    for (const auto& t : m.params().state_slots()) slots.push_back({t.name, t.size});
    return slots;
  }

  // getOptimizerState() -> Promise<{steps: number[], tensors: {name: Float32Array}}>: the step
  // counts [shared, per task...] and every moment buffer under PyTorch's state names.
  Napi::Value get_optimizer_state(Napi::Env env) {
    auto m = live(env);
    auto steps = std::make_shared<std::vector<int64_t>>();
    auto vals = std::make_shared<NamedTensors>();
    const auto slots = state_slots(*m);
    return AsyncJob::run(
        env,
        [=] {
          *steps = m->params().step_counts();
          for (const TensorSlot& t : slots) {
            std::vector<float> v(t.size);
            m->params().read_state(t.name, v.data());
            vals->emplace_back(t.name, std::move(v));
          }
        },
        [=](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          Napi::Array st = Napi::Array::New(env, steps->size());
          for (size_t i = 0; i < steps->size(); ++i) st[i] = Napi::Number::New(env, static_cast<double>((*steps)[i]));
          o.Set("steps", st);
          Napi::Object ts = Napi::Object::New(env);
          for (auto& kv : *vals) ts.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          o.Set("tensors", ts);
          return o;
        },
        busy);
  }

  // setOptimizerState(steps: number[], tensors: {name: Float32Array}) -> Promise<void>: every buffer
  // of getOptimizerState present at its exact size; steps [shared, per task...] safe integers >= 0.
  Napi::Value set_optimizer_state(Napi::Env env, Napi::Value steps_value, Napi::Value tensors) {
    auto m = live(env);
    Napi::Array arr = arg_array(env, steps_value, "optimizer step counts");
    const size_t want = m->params().step_counts().size();
    if (arr.Length() != want)
      throw_js(env, "E_SHAPE",
               "expected " + std::to_string(want) + " optimizer step counts, got " + std::to_string(arr.Length()));
    std::vector<int64_t> steps(want);
    for (uint32_t i = 0; i < want; ++i)
      steps[i] = arg_int64(env, arr.Get(i), "optimizer step count", 0, (int64_t(1) << 53) - 1);
    return write_tensors_job(
        env, state_slots(*m), tensors, [m](const std::string& n, const float* d) { m->params().write_state(n, d); },
        busy, [m, steps] { m->params().set_step_counts(steps); });
  }

  // getTensor(name) -> Promise<Float32Array>: any tensor, frozen or learned.
  Napi::Value get_tensor(Napi::Env env, Napi::Value name_value) {
    auto m = live(env);
    const std::string name = arg_string(env, name_value, "tensor name");
    const Param* t = m->params().find(name);
    if (!t) throw_js(env, "E_INVALID_ARG", "no tensor named '" + name + "'");
    auto out = std::make_shared<std::vector<float>>(t->size());
    return AsyncJob::run(
        env, [=] { m->params().read(name, out->data()); },
        [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); }, busy);
  }

  // Promise<{loss: loss_js(compute(model)), grads: {name: Float32Array}}>: compute(model) forms the
  // gradients on a worker thread, then every learned tensor's gradient is read.
  template <typename Compute, typename LossJs>
  Napi::Promise gradients_job(Napi::Env env, Compute compute, LossJs loss_js) {
    auto m = live(env);
    using Loss = decltype(compute(*m));
    auto loss = std::make_shared<Loss>();
    auto grads = std::make_shared<NamedTensors>();
    return AsyncJob::run(
        env,
        [=] {
          *loss = compute(*m);
          for (const Param& t : m->params().all()) {
            if (!t.trainable) continue;
            std::vector<float> g(t.size());
            m->params().read_grad(t.name, g.data());
            grads->emplace_back(t.name, std::move(g));
          }
        },
        [=](Napi::Env env) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("loss", loss_js(env, *loss));
          Napi::Object g = Napi::Object::New(env);
          for (auto& kv : *grads) g.Set(kv.first, to_float32_array(env, std::move(kv.second)));
          o.Set("grads", g);
          return o;
        },
        busy);
  }

  // Promise<to_js(env, result)> with result = run(model) on a worker thread, holding the busy flag.
  // to_js takes the result as an lvalue it may move from.
  template <typename Run, typename ToJs>
  Napi::Promise result_job(Napi::Env env, Run run, ToJs to_js) {
    auto m = live(env);
    auto out = std::make_shared<decltype(run(*m))>();
    return AsyncJob::run(
        env, [m, out, run] { *out = run(*m); }, [out, to_js](Napi::Env env) { return to_js(env, *out); }, busy);
  }
};

// A result_job's to_js for a Float32Array result (moved into the array, no copy).
inline Napi::Value float32_js(Napi::Env env, std::vector<float>& v) { return to_float32_array(env, std::move(v)); }
// A gradients_job's loss_js for a scalar loss.
inline Napi::Value number_js(Napi::Env env, double v) { return Napi::Number::New(env, v); }

template <typename M, typename = void>
struct HasOptimizerSteps : std::false_type {};
template <typename M>
struct HasOptimizerSteps<M, std::void_t<decltype(std::declval<const M&>().optimizer_steps())>> : std::true_type {};
template <typename M, typename = void>
struct HasInputCache : std::false_type {};
template <typename M>
struct HasInputCache<M, std::void_t<decltype(std::declval<M&>().drop_input_cache())>> : std::true_type {};

// Optional spec.widthShard {ranks, offset, full}: width-parallel (train/width_shard.h).
inline WidthShard read_width_shard(Napi::Env env, const Napi::Object& spec) {
  WidthShard shard;
  Napi::Value v = spec.Get("widthShard");
  if (v.IsUndefined() || v.IsNull()) return shard;
  Napi::Object so = arg_object(env, v, "widthShard");
  shard.ranks = read_int(env, so, "ranks", 1, 1 << 20);
  shard.offset = read_int(env, so, "offset", 0, 1 << 30);
  shard.full = read_int(env, so, "full", 1, 1 << 30);
  return shard;
}

template <typename M, typename = void>
struct HasAttachCollective : std::false_type {};
template <typename M>
struct HasAttachCollective<M, std::void_t<decltype(std::declval<M&>().attach_collective(nullptr))>> : std::true_type {};

// The JS class of a native model kind (CRTP: `class MlpWrap : public ModelWrap<MlpWrap, Mlp>`):
// Napi::ObjectWrap<Wrap> and ModelSlot<Model>, with the methods every kind shares: params, tensors,
// getParams, setParams, getTensor, resetOptimizer, get/setOptimizerState, dispose, and optimizerSteps / dropInputCache
// where Model has optimizer_steps() / drop_input_cache(). define() registers the kind's own
// methods (train, evaluate, predict, gradients, ...) followed by these, and exports the class.
template <typename Wrap, typename Model>
class ModelWrap : public Napi::ObjectWrap<Wrap>, public ModelSlot<Model> {
 public:
  using Property = Napi::ClassPropertyDescriptor<Wrap>;
  static inline Napi::FunctionReference ctor;

  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Wrap>(info) {}

  static void define(Napi::Env env, Napi::Object exports, const char* name, std::vector<Property> methods) {
    using Method = Napi::Value (Wrap::*)(const Napi::CallbackInfo&);
    auto method = [](const char* js_name, Method m) { return Wrap::InstanceMethod(js_name, m); };
    methods.push_back(method("params", &ModelWrap::Params));
    methods.push_back(method("tensors", &ModelWrap::Tensors));
    methods.push_back(method("getParams", &ModelWrap::GetParams));
    methods.push_back(method("setParams", &ModelWrap::SetParams));
    methods.push_back(method("getTensor", &ModelWrap::GetTensor));
    methods.push_back(method("resetOptimizer", &ModelWrap::ResetOptimizer));
    methods.push_back(method("getOptimizerState", &ModelWrap::GetOptimizerState));
    methods.push_back(method("setOptimizerState", &ModelWrap::SetOptimizerState));
    if constexpr (HasOptimizerSteps<Model>::value)
      methods.push_back(method("optimizerSteps", &ModelWrap::OptimizerSteps));
    if constexpr (HasInputCache<Model>::value) methods.push_back(method("dropInputCache", &ModelWrap::DropInputCache));
    methods.push_back(method("attachCollective", &ModelWrap::AttachCollective));
    methods.push_back(method("frozenBytes", &ModelWrap::FrozenBytes));
    methods.push_back(method("dispose", &ModelWrap::Dispose));
    Napi::Function f = Wrap::DefineClass(env, name, methods);
    ctor = Napi::Persistent(f);
    exports.Set(name, f);
  }

  Napi::Value Params(const Napi::CallbackInfo& info) { return this->list_tensors(info.Env(), true); }
  Napi::Value Tensors(const Napi::CallbackInfo& info) { return this->list_tensors(info.Env(), false); }
  Napi::Value GetParams(const Napi::CallbackInfo& info) { return this->get_learned(info.Env()); }
  Napi::Value SetParams(const Napi::CallbackInfo& info) { return this->set_learned(info.Env(), info[0]); }
  Napi::Value GetTensor(const Napi::CallbackInfo& info) { return this->get_tensor(info.Env(), info[0]); }
  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info) {
    return this->void_job(info.Env(), [](Model& m) { m.reset_optimizer(); });
  }
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info) { return this->get_optimizer_state(info.Env()); }
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info) {
    return this->set_optimizer_state(info.Env(), info[0], info[1]);
  }
  Napi::Value OptimizerSteps(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(this->live(info.Env())->optimizer_steps()));
  }
  Napi::Value DropInputCache(const Napi::CallbackInfo& info) {
    return this->void_job(info.Env(), [](Model& m) { m.drop_input_cache(); });
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) { return this->dispose_model(info.Env()); }
  // attachCollective(path | null): data-parallel training over the MPI module loaded from path
  // (ParamSet::set_collective); null detaches. Refused while a job runs.
  Napi::Value AttachCollective(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto m = this->live(env);
    if (this->busy->load()) throw_js(env, "E_CONCURRENT", "cannot attach a collective while an operation is running");
    const BlCollective* c = nullptr;
    if (!info[0].IsNull() && !info[0].IsUndefined()) {
      if (!info[0].IsString()) throw_js(env, "E_INVALID_ARG", "expected the MPI module's path or null");
      try {
        c = find_collective(info[0].As<Napi::String>().Utf8Value());
      } catch (const BlError& e) { throw_js(env, e.code(), e.what()); }
    }
    try {
      if constexpr (HasAttachCollective<Model>::value)
        m->attach_collective(c);  // a kind that uses the collective itself (width-parallel MLP)
      else
        m->params().set_collective(c);
    } catch (const BlError& e) { throw_js(env, e.code(), e.what()); }
    return env.Undefined();
  }
  // Bytes the frozen tensors' values hold on the backend (bf16 weights: half of fp32's).
  Napi::Value FrozenBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(this->live(info.Env())->frozen_bytes()));
  }
};

}  // namespace bl
