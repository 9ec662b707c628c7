// bf16Kernel(which?) -> 'avx512bf16' | 'fallback': the CPU kernel of bf16 frozen products
// (backend/cpu/cpu_bf16.h). With 'fallback' or 'auto' it first sets the choice for the process
// (tests and benchmarks compare the two; BIASLEARN_BF16_KERNEL=fallback sets it at load).
#include <napi.h>

#include "../backend/cpu/cpu_bf16.h"
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

void InitBf16(Napi::Env env, Napi::Object exports) { exports.Set("bf16Kernel", Napi::Function::New(env, Bf16Kernel)); }

}  // namespace

BL_REGISTER_EXPORTS(InitBf16);

}  // namespace bl
