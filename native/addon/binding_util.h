// Helpers shared by the binding files: argument readers that throw JS errors with a `code`,
// typed-array access, and conversions. Everything here runs on the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../backend/backend.h"
#include "../common/types.h"
#include "async_job.h"

namespace bl {

[[noreturn]] inline void throw_js(Napi::Env env, const std::string& code, const std::string& msg) {
  throw make_error(env, code, msg);
}

inline Napi::Object get_object(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) throw_js(env, "E_INVALID_ARG", std::string("expected an object for ") + key);
  return v.As<Napi::Object>();
}
inline double get_number(Napi::Env env, const Napi::Object& o, const char* key, double fallback, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return fallback;
  if (!v.IsNumber()) throw_js(env, "E_INVALID_ARG", std::string("expected a number for ") + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_js(env, "E_INVALID_ARG", std::string("expected a finite number for ") + key);
  return d;
}
inline int get_int(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi) {
  const double d = get_number(env, o, key, 0, true);
  if (d != std::floor(d) || d < lo || d > hi)
    throw_js(env, "E_INVALID_ARG", std::string("expected an integer in [") + std::to_string(lo) + ", " +
                                       std::to_string(hi) + "] for " + key + ", got " + std::to_string(d));
  return static_cast<int>(d);
}
inline std::string get_string(Napi::Env env, const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw_js(env, "E_INVALID_ARG", std::string("expected a string for ") + key);
  return v.As<Napi::String>().Utf8Value();
}
inline bool get_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}
inline uint64_t to_seed(Napi::Env env, Napi::Value v) {
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
inline InitSpec parse_init(Napi::Env env, const Napi::Object& o) {
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
inline T* typed_data(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* what, size_t* length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_js(env, "E_DTYPE", std::string("expected ") +
                                 (type == napi_float32_array ? "a Float32Array" : "an Int32Array") + " for " + what);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *length = ta.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

inline std::shared_ptr<Backend> backend_or_throw(Napi::Env env, const std::string& name) {
  try {
    return get_backend(name);
  } catch (const BlError& e) {
    throw_js(env, e.code(), e.what());
  }
}

// ---------------------------------------------------------------- DatasetHandle

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
// write(name, src) for each slot on a worker thread.
template <typename Write>
Napi::Promise write_tensors_job(Napi::Env env, const std::vector<TensorSlot>& slots, Napi::Value values, Write write,
                                std::shared_ptr<std::atomic<bool>> busy) {
  if (!values.IsObject()) throw_js(env, "E_INVALID_ARG", "expected an object of Float32Arrays");
  Napi::Object o = values.As<Napi::Object>();
  auto vals = std::make_shared<NamedTensors>();
  for (const TensorSlot& t : slots) {
    size_t n = 0;
    const float* d = typed_data<float>(env, o.Get(t.name), napi_float32_array, t.name.c_str(), &n);
    if (n != t.size)
      throw_js(env, "E_SHAPE", "expected " + std::to_string(t.size) + " values for " + t.name + ", got " + std::to_string(n));
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(d[i]))
        throw_js(env, "E_NONFINITE", "expected finite values in " + t.name + ", got " + std::to_string(d[i]) + " at index " + std::to_string(i));
    vals->emplace_back(t.name, std::vector<float>(d, d + n));
  }
  return AsyncJob::run(
      env, [=] { for (auto& kv : *vals) write(kv.first, kv.second.data()); },
      [](Napi::Env env) { return env.Undefined(); }, busy);
}

// What every native model wrapper (NativeMlp, NativeMultitaskMlp, NativeRnn) holds: the model,
// the busy flag that lets one job at a time run on it, and E_DISPOSED after dispose(). A wrapper
// derives from Napi::ObjectWrap<Wrap> and from this.
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
};

}  // namespace bl
