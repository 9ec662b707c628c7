// linalg* exports: LAPACK routines of native/linalg on a libuv worker (AsyncJob), float64 in and out.
//   linalgAvailable() -> boolean
//   linalgEigenvalues(A: Float64Array [n*n], n) -> Promise<{ re: Float64Array, im: Float64Array }>
//   linalgSolve(A: Float64Array [n*n], n, B: Float64Array [n*nrhs], nrhs) -> Promise<Float64Array>
//   linalgSingularValues(A: Float64Array [m*n], m, n) -> Promise<Float64Array>
#include <napi.h>

#include <cstring>
#include <memory>
#include <vector>

#include "../linalg/linalg.h"
#include "async_job.h"
#include "exports_registry.h"

namespace bl {
namespace {

std::vector<double> f64_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw make_error(info.Env(), "E_DTYPE", std::string("expected a Float64Array for ") + name);
  auto a = info[i].As<Napi::Float64Array>();
  return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}

int int_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw make_error(info.Env(), "E_INVALID_ARG", std::string("expected an integer for ") + name);
  return info[i].As<Napi::Number>().Int32Value();
}

Napi::Float64Array to_f64(Napi::Env env, const std::vector<double>& v) {
  auto out = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(double));
  return out;
}

Napi::Value Available(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), linalg::lapack_available()); }

Napi::Value Eigenvalues(const Napi::CallbackInfo& info) {
  auto A = std::make_shared<std::vector<double>>(f64_arg(info, 0, "A"));
  const int n = int_arg(info, 1, "n");
  auto re = std::make_shared<std::vector<double>>();
  auto im = std::make_shared<std::vector<double>>();
  return AsyncJob::run(
      info.Env(), [A, n, re, im] { linalg::eigenvalues(*A, n, *re, *im); },
      [re, im](Napi::Env env) -> Napi::Value {
        auto o = Napi::Object::New(env);
        o.Set("re", to_f64(env, *re));
        o.Set("im", to_f64(env, *im));
        return o;
      });
}

Napi::Value Solve(const Napi::CallbackInfo& info) {
  auto A = std::make_shared<std::vector<double>>(f64_arg(info, 0, "A"));
  const int n = int_arg(info, 1, "n");
  auto B = std::make_shared<std::vector<double>>(f64_arg(info, 2, "B"));
  const int nrhs = int_arg(info, 3, "nrhs");
  auto X = std::make_shared<std::vector<double>>();
  return AsyncJob::run(
      info.Env(), [A, n, B, nrhs, X] { *X = linalg::solve(*A, n, *B, nrhs); },
      [X](Napi::Env env) -> Napi::Value { return to_f64(env, *X); });
}

Napi::Value SingularValues(const Napi::CallbackInfo& info) {
  auto A = std::make_shared<std::vector<double>>(f64_arg(info, 0, "A"));
  const int m = int_arg(info, 1, "m");
  const int n = int_arg(info, 2, "n");
  auto S = std::make_shared<std::vector<double>>();
  return AsyncJob::run(
      info.Env(), [A, m, n, S] { *S = linalg::singular_values(*A, m, n); },
      [S](Napi::Env env) -> Napi::Value { return to_f64(env, *S); });
}

void InitLinalg(Napi::Env env, Napi::Object exports) {
  exports.Set("linalgAvailable", Napi::Function::New(env, Available, "linalgAvailable"));
  exports.Set("linalgEigenvalues", Napi::Function::New(env, Eigenvalues, "linalgEigenvalues"));
  exports.Set("linalgSolve", Napi::Function::New(env, Solve, "linalgSolve"));
  exports.Set("linalgSingularValues", Napi::Function::New(env, SingularValues, "linalgSingularValues"));
}

}  // namespace

BL_REGISTER_EXPORTS(InitLinalg);

}  // namespace bl
