// bf16Kernel(which?) -> 'avx512bf16' | 'fallback': the CPU kernel of bf16 frozen products
// (backend/cpu/cpu_bf16.h). With 'fallback' or 'auto' it first sets the choice for the process
// (tests and benchmarks compare the two; BIASLEARN_BF16_KERNEL=fallback sets it at load).
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "../backend/cpu/cpu_bf16.h"
#include "../common/thread_pool.h"
#include "async_job.h"
#include "binding_util.h"
#include "exports_registry.h"

namespace bl {

namespace {

Napi::Value Bf16Kernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const std::string which = arg_string(env, info[0], "bf16 kernel");
    parsed(env, [&] {
      cpu_bf16_set_kernel(which);
      return 0;
    });
  }
  return Napi::String::New(env, cpu_bf16_kernel());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// benchFrozenGemm(backend, M, N, K, reps, precision) -> Promise<seconds per product (median)>:
// Y[M, N] = X[M, K] W^T with W a frozen matrix in `precision` ('fp32', 'bf16', 'tf32').
Napi::Value BenchFrozenGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto be = read_backend(env, info[0]);
  const int M = arg_int(env, info[1], "M", 1, 1 << 30), N = arg_int(env, info[2], "N", 1, 1 << 30),
            K = arg_int(env, info[3], "K", 1, 1 << 30), reps = arg_int(env, info[4], "reps", 1, 1 << 30);
  const Precision p = parsed(env, [&] { return parse_precision(arg_string(env, info[5], "precision")); });
  auto secs = std::make_shared<double>(0);
  return AsyncJob::run(
      env,
      [=] {
        DeviceBuffer X(be, (size_t)M * K * 4), W(be, be->frozen_bytes(N, K, p)), Y(be, (size_t)M * N * 4);
        be->fill_weights(X.f32(), M, K, 1, 0, Dist::Uniform, 1.0);
        be->frozen_fill(W.data(), N, K, p, 1, 1, Dist::Uniform, 1.0);
        const FrozenMatrix w{W.data(), N, K, p};
        be->frozen_matmul(M, 1.0f, X.f32(), K, w, 0.0f, Y.f32(), N);  // warm-up
        be->synchronize();
        std::vector<double> t;
        for (int r = 0; r < reps; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          be->frozen_matmul(M, 1.0f, X.f32(), K, w, 0.0f, Y.f32(), N);
          be->synchronize();
          t.push_back(seconds_since(t0));
        }
        std::sort(t.begin(), t.end());
        *secs = t[t.size() / 2];
      },
      [secs](Napi::Env env) { return Napi::Number::New(env, *secs); });
}

// benchCpuPeak(seconds) -> Promise<{ bf16, fp32, threads }>: GFLOP/s of VDPBF16PS and of 512-bit
// FMA chains on every thread of the pool at once (about `seconds` each; 0 without the instructions).
Napi::Value BenchCpuPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double target = arg_number(env, info[0], "seconds");
  auto out = std::make_shared<std::vector<double>>(2, 0.0);
  return AsyncJob::run(
      env,
      [=] {
        const int threads = cpu_threads();
        for (int kind = 0; kind < 2; ++kind) {
          auto once = [&](long iters) {
            std::vector<double> flops(threads, 0.0);
            const auto t0 = std::chrono::steady_clock::now();
            cpu_pool().parallel_for(threads, 1, [&](size_t i0, size_t i1) {
              for (size_t i = i0; i < i1; ++i)
                flops[i] = kind == 0 ? cpu_bf16_peak_flops(iters) : cpu_fp32_peak_flops(iters);
            });
            const double s = seconds_since(t0);
            double total = 0;
            for (double f : flops) total += f;
            return std::make_pair(total, s);
          };
          const auto first = once(20000);
          if (first.first == 0.0) continue;
          const double scale = std::max(target, 0.01) / std::max(first.second, 1e-6);
          const long iters = std::max(20000L, static_cast<long>(20000 * scale));
          const auto timed = once(iters);
          (*out)[kind] = timed.first / timed.second / 1e9;
        }
      },
      [out](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("bf16", (*out)[0]);
        o.Set("fp32", (*out)[1]);
        o.Set("threads", cpu_threads());
        return o;
      });
}

void InitBf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Kernel", Napi::Function::New(env, Bf16Kernel));
  exports.Set("benchFrozenGemm", Napi::Function::New(env, BenchFrozenGemm));
  exports.Set("benchCpuPeak", Napi::Function::New(env, BenchCpuPeak));
}

}  // namespace

BL_REGISTER_EXPORTS(InitBf16);

}  // namespace bl
