// buildInfo(): how this binary was compiled, for `biaslearn info` and the loader's report: the
// instruction set its own kernels were compiled for (from the compiler's predefined macros) and,
// when linked with OpenBLAS, the library's configuration and the core type its run-time dispatch
// chose for this CPU (e.g. "SkylakeX", "Haswell", "Zen").
#include <napi.h>

#include <string>

#include "exports_registry.h"

#ifdef BL_HAVE_OPENBLAS_THREADS
extern "C" char* openblas_get_config(void);
extern "C" char* openblas_get_corename(void);
#endif

namespace {

std::string kernel_isa() {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE4_2__)
  return "sse4.2";
#elif defined(__x86_64__)
  return "sse2";
#elif defined(__aarch64__)
  return "neon";
#else
  return "generic";
#endif
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("kernelIsa", kernel_isa());
#ifdef BL_HAVE_OPENBLAS_THREADS
  o.Set("blas", std::string("OpenBLAS ") + openblas_get_config());
  o.Set("blasCore", std::string(openblas_get_corename()));
#elif defined(BL_HAVE_CBLAS)
  o.Set("blas", "cblas");
#else
  o.Set("blas", "builtin");
#endif
#if defined(__clang__)
  o.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", std::string("gcc ") + __VERSION__);
#endif
  return o;
}

void InitBuildInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
}

}  // namespace

BL_REGISTER_EXPORTS(InitBuildInfo);
