// linalg* exports: LAPACK routines of native/linalg on a libuv worker (AsyncJob), float64 in and out.
//   linalgAvailable() -> boolean
//   linalgEigenvalues(A: Float64Array [n*n], n) -> Promise<{ re: Float64Array, im: Float64Array }>
//   linalgSolve(A: Float64Array [n*n], n, B: Float64Array [n*nrhs], nrhs) -> Promise<Float64Array>
//   linalgSingularValues(A: Float64Array [m*n], m, n) -> Promise<Float64Array>
//   linalgMatrix(A: Float64Array [m*n], m, n) -> handle (a native copy of A)
//   linalgGemv(handle, x: Float64Array [n], y: Float64Array [m]) -> undefined: y = A x, synchronous
//     (one dgemv: ~0.2 ms at 1024 x 1024; for iterations that need many small products)
#include <napi.h>

#include <cstring>
#include <memory>
#include <vector>

#if defined(BL_HAVE_CBLAS)
#include <cblas.h>
#endif

#include "../linalg/linalg.h"
#include "async_job.h"
#include "binding_util.h"
#include "exports_registry.h"

namespace bl {
namespace {

std::vector<double> f64_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw make_error(info.Env(), "E_DTYPE", std::string("expected a Float64Array for ") + name);
  auto a = info[i].As<Napi::Float64Array>();
  return copy_elements(info.Env(), a.Data(), a.ElementLength(), name);
}

// A dimension: an integer in [0, 2^30] (never wrapped modulo 2^32).
int int_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return arg_int(info.Env(), info[i], name, 0, 1 << 30);
}

Napi::Float64Array to_f64(Napi::Env env, const std::vector<double>& v) {
  auto out = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(double));
  return out;
}

Napi::Value Available(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), linalg::lapack_available());
}

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

// A matrix held natively for repeated products: A [rows, cols] row-major.
struct HeldMatrix {
  int rows, cols;
  std::vector<double> a;
};

Napi::Value MatrixHandle(const Napi::CallbackInfo& info) {
  auto* m = new HeldMatrix{int_arg(info, 1, "m"), int_arg(info, 2, "n"), f64_arg(info, 0, "A")};
  if (m->rows < 1 || m->cols < 1 || m->a.size() != static_cast<size_t>(m->rows) * m->cols) {
    delete m;
    throw make_error(info.Env(), "E_SHAPE", "expected m * n values for the matrix");
  }
  return Napi::External<HeldMatrix>::New(info.Env(), m, [](Napi::Env, HeldMatrix* p) { delete p; });
}

Napi::Value Gemv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw make_error(env, "E_INVALID_ARG", "expected a matrix handle from linalgMatrix");
  const HeldMatrix* m = info[0].As<Napi::External<HeldMatrix>>().Data();
  auto is_f64 = [](const Napi::Value& v) {
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
  };
  if (!is_f64(info[1]) || !is_f64(info[2])) throw make_error(env, "E_DTYPE", "expected Float64Array x and y");
  auto x = info[1].As<Napi::Float64Array>();
  auto y = info[2].As<Napi::Float64Array>();
  if (x.ElementLength() != static_cast<size_t>(m->cols) || y.ElementLength() != static_cast<size_t>(m->rows))
    throw make_error(env, "E_SHAPE",
                     "expected x of " + std::to_string(m->cols) + " and y of " + std::to_string(m->rows) + " values");
#if defined(BL_HAVE_CBLAS)
  cblas_dgemv(CblasRowMajor, CblasNoTrans, m->rows, m->cols, 1.0, m->a.data(), m->cols, x.Data(), 1, 0.0, y.Data(), 1);
#else
  for (int i = 0; i < m->rows; i++) {
    double s = 0;
    for (int j = 0; j < m->cols; j++) s += m->a[static_cast<size_t>(i) * m->cols + j] * x.Data()[j];
    y.Data()[i] = s;
  }
#endif
  return env.Undefined();
}

void InitLinalg(Napi::Env env, Napi::Object exports) {
  exports.Set("linalgMatrix", Napi::Function::New(env, MatrixHandle, "linalgMatrix"));
  exports.Set("linalgGemv", Napi::Function::New(env, Gemv, "linalgGemv"));
  exports.Set("linalgAvailable", Napi::Function::New(env, Available, "linalgAvailable"));
  exports.Set("linalgEigenvalues", Napi::Function::New(env, Eigenvalues, "linalgEigenvalues"));
  exports.Set("linalgSolve", Napi::Function::New(env, Solve, "linalgSolve"));
  exports.Set("linalgSingularValues", Napi::Function::New(env, SingularValues, "linalgSingularValues"));
}

}  // namespace

BL_REGISTER_EXPORTS(InitLinalg);

}  // namespace bl
