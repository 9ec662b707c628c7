// Node-API module entry: process-wide functions (info: backends, ops and activations; threads,
// weight generation, sgemm timing, kernel probe). Model kinds and datasets add their exports from their own binding
// files through BL_REGISTER_EXPORTS (exports_registry.h).
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "../backend/backend.h"
#include "../backend/cpu/cpu_kernels.h"
#include "../common/thread_pool.h"
#include "async_job.h"
#include "binding_util.h"
#include "exports_registry.h"

namespace bl {

Napi::Value RunKernel(const Napi::CallbackInfo& info);  // kernel_probe.cpp

namespace {

Napi::Value FillWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  const int rows = arg_int(env, info[1], "rows", 1, 1 << 30), cols = arg_int(env, info[2], "cols", 1, 1 << 30);
  const uint64_t seed = read_seed(env, info[3]);
  const uint32_t stream = static_cast<uint32_t>(arg_int64(env, info[4], "stream", 0, 0xffffffffll));
  const Dist dist = parsed(env, [&] { return parse_dist(arg_string(env, info[5], "dist")); });
  const double a = arg_number(env, info[6], "a");
  const size_t count = count_of(env, {(uint64_t)rows, (uint64_t)cols}, "the weight matrix");
  auto out = std::make_shared<std::vector<float>>();
  return AsyncJob::run(
      env,
      [=] {
        require_host_memory(2 * count * sizeof(float), "the weight matrix and its copy");
        out->resize(count);
        DeviceBuffer buf(be, out->size() * sizeof(float));
        be->fill_weights(buf.f32(), rows, cols, seed, stream, dist, a);
        be->download(out->data(), buf.data(), out->size() * sizeof(float));
      },
      [out](Napi::Env env) { return to_float32_array(env, std::move(*out)); });
}

// benchGemm(backend, M, N, K, reps, transB) -> Promise<seconds per product (median)>
Napi::Value BenchGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  const int M = arg_int(env, info[1], "M", 1, 1 << 30), N = arg_int(env, info[2], "N", 1, 1 << 30),
            K = arg_int(env, info[3], "K", 1, 1 << 30), reps = arg_int(env, info[4], "reps", 1, 1 << 30);
  const bool tb = arg_bool(env, info[5], "transB");
  count_of(env, {(uint64_t)M, (uint64_t)K}, "A");
  count_of(env, {(uint64_t)K, (uint64_t)N}, "B");
  count_of(env, {(uint64_t)M, (uint64_t)N}, "C");
  auto secs = std::make_shared<double>(0);
  return AsyncJob::run(
      env,
      [=] {
        DeviceBuffer A(be, (size_t)M * K * 4), B(be, (size_t)K * N * 4), C(be, (size_t)M * N * 4);
        be->fill_weights(A.f32(), M, K, 1, 0, Dist::Uniform, 1.0);
        be->fill_weights(B.f32(), K, N, 1, 1, Dist::Uniform, 1.0);
        be->gemm(false, tb, M, N, K, 1.0f, A.f32(), K, B.f32(), tb ? K : N, 0.0f, C.f32(), N);  // warm-up
        be->synchronize();
        std::vector<double> t;
        for (int r = 0; r < reps; ++r) {
          auto t0 = std::chrono::steady_clock::now();
          be->gemm(false, tb, M, N, K, 1.0f, A.f32(), K, B.f32(), tb ? K : N, 0.0f, C.f32(), N);
          be->synchronize();
          t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(t.begin(), t.end());
        *secs = t[t.size() / 2];
      },
      [secs](Napi::Env env) { return Napi::Number::New(env, *secs); });
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("backends", compiled_backends());
  o.Set("gemm", cpu_gemm_impl());
  o.Set("threads", cpu_threads());
  Napi::Array ops = Napi::Array::New(env, kOpCount);  // BL_OPS, in order (the kernel probe's op names)
  for (int i = 0; i < kOpCount; ++i) ops.Set(i, op_name(static_cast<Op>(i)));
  o.Set("ops", ops);
  Napi::Object acts = Napi::Object::New(env);  // BL_ACTIVATIONS: name -> the number the probe takes
  for (int i = 0; i < kActCount; ++i) acts.Set(act_name(static_cast<Act>(i)), i);
  o.Set("activations", acts);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int t = arg_int(info.Env(), info[0], "threads", 0, 1024);
  set_cpu_threads(t);
  cpu_set_blas_threads(cpu_threads());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("fillWeights", Napi::Function::New(env, FillWeights));
  exports.Set("benchGemm", Napi::Function::New(env, BenchGemm));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("runKernel", Napi::Function::New(env, RunKernel));
  for (ExportsInit init : exports_registry()) init(env, exports);
  return exports;
}

}  // namespace bl

static Napi::Object InitBiaslearn(Napi::Env env, Napi::Object exports) { return bl::Init(env, exports); }

NODE_API_MODULE(biaslearn, InitBiaslearn)
