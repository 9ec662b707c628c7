#include "probe_util.h"

#include "async_job.h"

namespace bl {

std::vector<float>& probe_f(ProbeJob& j, const char* k, size_t need) {
  auto it = j.f.find(k);
  if (it == j.f.end()) fail("E_INVALID_ARG", j.who + ": missing Float32Array '" + k + "'");
  require(it->second.size() >= need, "E_SHAPE",
          j.who + ": '" + k + "' needs " + std::to_string(need) + " elements, got " + std::to_string(it->second.size()));
  return it->second;
}

std::vector<int32_t>& probe_i(ProbeJob& j, const char* k, size_t need) {
  auto it = j.i.find(k);
  if (it == j.i.end()) fail("E_INVALID_ARG", j.who + ": missing Int32Array '" + k + "'");
  require(it->second.size() >= need, "E_SHAPE",
          j.who + ": '" + k + "' needs " + std::to_string(need) + " elements, got " + std::to_string(it->second.size()));
  return it->second;
}

double probe_n(ProbeJob& j, const char* k) {
  auto it = j.n.find(k);
  if (it == j.n.end()) fail("E_INVALID_ARG", j.who + ": missing number '" + k + "'");
  return it->second;
}

ProbeDev::ProbeDev(std::shared_ptr<Backend> b, const std::vector<float>& host) : be(b), buf(b, host.size() * 4 + 4) {
  be->upload(buf.data(), host.data(), host.size() * sizeof(float));
}

ProbeDev::ProbeDev(std::shared_ptr<Backend> b, const std::vector<int32_t>& host) : be(b), buf(b, host.size() * 4 + 4) {
  be->upload(buf.data(), host.data(), host.size() * sizeof(int32_t));
}

Napi::Value run_probe_call(const Napi::CallbackInfo& info, const char* who, ProbeFn fn) {
  Napi::Env env = info.Env();
  std::shared_ptr<Backend> be;
  try {
    if (!info[0].IsString()) fail("E_INVALID_ARG", std::string(who) + ": expected a backend name");
    be = get_backend(info[0].As<Napi::String>().Utf8Value());
  } catch (const BlError& e) {
    throw make_error(env, e.code(), e.what());
  }
  if (!info[1].IsString() || !info[2].IsObject()) throw make_error(env, "E_INVALID_ARG", std::string(who) + "(backend, op, args)");
  auto job = std::make_shared<ProbeJob>();
  job->who = who;
  job->op = info[1].As<Napi::String>().Utf8Value();
  Napi::Object args = info[2].As<Napi::Object>();
  Napi::Array keys = args.GetPropertyNames();
  for (uint32_t k = 0; k < keys.Length(); ++k) {
    const std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
    Napi::Value v = args.Get(key);
    if (v.IsNumber()) job->n[key] = v.As<Napi::Number>().DoubleValue();
    else if (v.IsBoolean()) job->n[key] = v.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      auto a = v.As<Napi::Float32Array>();
      job->f[key].assign(a.Data(), a.Data() + a.ElementLength());
    } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      auto a = v.As<Napi::Int32Array>();
      job->i[key].assign(a.Data(), a.Data() + a.ElementLength());
    } else {
      throw make_error(env, "E_DTYPE", std::string(who) + ": '" + key + "' must be a number, boolean, Float32Array or Int32Array");
    }
  }
  return AsyncJob::run(
      env,
      [=] {
        fn(be, *job);
        be->synchronize();
      },
      [job](Napi::Env env) {
        Napi::Object out = Napi::Object::New(env);
        for (auto& kv : job->f) out.Set(kv.first, to_float32_array(env, std::move(kv.second)));
        return out;
      });
}

}  // namespace bl
