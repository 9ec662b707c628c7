// Helpers shared by the binding files: argument readers that throw JS errors with a `code`,
// typed-array access, and conversions. Everything here runs on the JS thread.
#pragma once
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>

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

}  // namespace bl
