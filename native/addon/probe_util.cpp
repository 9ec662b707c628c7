#include "probe_util.h"

#include <cmath>

#include "async_job.h"

namespace bl {

namespace {

// The array `k` of one of the job's maps (`type` names the JS array type in messages).
template <typename T>
std::vector<T>& probe_array(const ProbeJob& j, std::map<std::string, std::vector<T>>& arrays, const char* type,
                            const char* k, size_t need) {
  auto it = arrays.find(k);
  if (it == arrays.end()) fail("E_INVALID_ARG", j.who + ": missing " + type + " '" + k + "'");
  require(
      it->second.size() >= need, "E_SHAPE",
      j.who + ": '" + k + "' needs " + std::to_string(need) + " elements, got " + std::to_string(it->second.size()));
  return it->second;
}

}  // namespace

std::vector<float>& probe_f(ProbeJob& j, const char* k, size_t need) {
  return probe_array(j, j.f, "Float32Array", k, need);
}

std::vector<int32_t>& probe_i(ProbeJob& j, const char* k, size_t need) {
  return probe_array(j, j.i, "Int32Array", k, need);
}

double probe_n(ProbeJob& j, const char* k) {
  auto it = j.n.find(k);
  if (it == j.n.end()) fail("E_INVALID_ARG", j.who + ": missing number '" + k + "'");
  return it->second;
}

int64_t probe_int(ProbeJob& j, const char* k, int64_t lo, int64_t hi) {
  const double v = probe_n(j, k);
  require(v >= static_cast<double>(lo) && v <= static_cast<double>(hi) && v == std::floor(v), "E_INVALID_ARG",
          j.who + ": '" + k + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
              std::to_string(v));
  return static_cast<int64_t>(v);
}

Act probe_act(ProbeJob& j, const char* k) {
  const double a = probe_n(j, k);
  require(a >= 0 && a < kActCount && a == (int)a, "E_INVALID_ARG",
          j.who + ": '" + k + "' is not an activation number, got " + std::to_string(a));
  return static_cast<Act>((int)a);
}

ProbeArrays::ProbeArrays(std::shared_ptr<Backend> b, ProbeJob& j) : be(b) {
  for (auto& kv : j.f) {
    f[kv.first] = DeviceBuffer(be, kv.second.size() * 4 + 4);
    be->upload(f[kv.first].data(), kv.second.data(), kv.second.size() * 4);
  }
  for (auto& kv : j.i) {
    i[kv.first] = DeviceBuffer(be, kv.second.size() * 4 + 4);
    be->upload(i[kv.first].data(), kv.second.data(), kv.second.size() * 4);
  }
}

void ProbeArrays::back(ProbeJob& j) {
  be->synchronize();
  for (auto& kv : j.f) be->download(kv.second.data(), f[kv.first].data(), kv.second.size() * 4);
}

ProbeFn* probe_table() {
  static ProbeFn table[kOpCount] = {};
  return table;
}

int register_probe(Op op, ProbeFn fn) {
  probe_table()[static_cast<int>(op)] = fn;
  return 0;
}

namespace {

// The op named `name` (BL_OPS), or E_INVALID_ARG naming it.
Op op_by_name(const std::string& who, const std::string& name) {
#define BL_OP_BY_NAME(op, str) \
  if (name == str) return Op::op;
  BL_OPS(BL_OP_BY_NAME)
#undef BL_OP_BY_NAME
  fail("E_INVALID_ARG", who + ": unknown op '" + name + "'");
}

}  // namespace

ProbeDev::ProbeDev(std::shared_ptr<Backend> b, const std::vector<float>& host) : be(b), buf(b, host.size() * 4 + 4) {
  be->upload(buf.data(), host.data(), host.size() * sizeof(float));
}

ProbeDev::ProbeDev(std::shared_ptr<Backend> b, const std::vector<int32_t>& host) : be(b), buf(b, host.size() * 4 + 4) {
  be->upload(buf.data(), host.data(), host.size() * sizeof(int32_t));
}

Napi::Value run_probe_call(const Napi::CallbackInfo& info, const char* who) {
  Napi::Env env = info.Env();
  std::shared_ptr<Backend> be;
  if (!info[1].IsString() || !info[2].IsObject())
    throw make_error(env, "E_INVALID_ARG", std::string(who) + "(backend, op, args)");
  auto job = std::make_shared<ProbeJob>();
  job->who = who;
  job->op = info[1].As<Napi::String>().Utf8Value();
  try {
    if (!info[0].IsString()) fail("E_INVALID_ARG", std::string(who) + ": expected a backend name");
    be = get_backend(info[0].As<Napi::String>().Utf8Value());
  } catch (const BlError& e) { throw make_error(env, e.code(), e.what()); }
  Napi::Object args = info[2].As<Napi::Object>();
  Napi::Array keys = args.GetPropertyNames();
  for (uint32_t k = 0; k < keys.Length(); ++k) {
    const std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
    Napi::Value v = args.Get(key);
    if (v.IsNumber())
      job->n[key] = v.As<Napi::Number>().DoubleValue();
    else if (v.IsBoolean())
      job->n[key] = v.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      auto a = v.As<Napi::Float32Array>();
      job->f[key].assign(a.Data(), a.Data() + a.ElementLength());
    } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      auto a = v.As<Napi::Int32Array>();
      job->i[key].assign(a.Data(), a.Data() + a.ElementLength());
    } else {
      throw make_error(env, "E_DTYPE",
                       std::string(who) + ": '" + key + "' must be a number, boolean, Float32Array or Int32Array");
    }
  }
  return AsyncJob::run(
      env,
      [=] {
        // Looked up on the worker, so an unknown op rejects the promise like any argument error.
        const ProbeFn fn = probe_table()[static_cast<int>(op_by_name(job->who, job->op))];
        require(fn != nullptr, "E_INVALID_ARG", job->who + ": op '" + job->op + "' has no probe handler");
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
