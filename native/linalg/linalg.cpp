#include "linalg.h"

#include <algorithm>
#include <string>

#include "../common/error.h"

#if defined(BL_HAVE_CBLAS)
// LAPACK's Fortran entry points (OpenBLAS exports them; every argument by pointer).
extern "C" {
void dgeev_(const char* jobvl, const char* jobvr, const int* n, double* a, const int* lda, double* wr, double* wi,
            double* vl, const int* ldvl, double* vr, const int* ldvr, double* work, const int* lwork, int* info);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b, const int* ldb, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info);
}
#endif

namespace bl::linalg {

namespace {
#if !defined(BL_HAVE_CBLAS)
[[noreturn]] void unavailable(const char* what) {
  fail("E_BACKEND_UNAVAILABLE", std::string(what) +
                                    " needs LAPACK: this build has no OpenBLAS (apt-get install libopenblas-dev, "
                                    "then rebuild)");
}
#endif

void check_square(const std::vector<double>& A, int n) {
  require(n >= 1, "E_INVALID_ARG", "expected n >= 1, got " + std::to_string(n));
  require(A.size() == static_cast<size_t>(n) * n, "E_SHAPE",
          "expected " + std::to_string(static_cast<size_t>(n) * n) + " values for a " + std::to_string(n) + " x " +
              std::to_string(n) + " matrix, got " + std::to_string(A.size()));
}
}  // namespace

bool lapack_available() {
#if defined(BL_HAVE_CBLAS)
  return true;
#else
  return false;
#endif
}

void eigenvalues(const std::vector<double>& A, int n, std::vector<double>& re, std::vector<double>& im) {
  check_square(A, n);
#if defined(BL_HAVE_CBLAS)
  // The row-major A read as column-major is A^T, which has the same eigenvalues.
  std::vector<double> a(A);
  re.assign(n, 0.0);
  im.assign(n, 0.0);
  const char no = 'N';
  const int one = 1;
  int info = 0;
  int lwork = -1;
  double query = 0;
  dgeev_(&no, &no, &n, a.data(), &n, re.data(), im.data(), nullptr, &one, nullptr, &one, &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dgeev_(&no, &no, &n, a.data(), &n, re.data(), im.data(), nullptr, &one, nullptr, &one, work.data(), &lwork, &info);
  require(info == 0, "E_NATIVE", "dgeev failed (info " + std::to_string(info) + "): the QR algorithm did not converge");
#else
  unavailable("eigenvalues");
#endif
}

std::vector<double> solve(const std::vector<double>& A, int n, const std::vector<double>& B, int nrhs) {
  check_square(A, n);
  require(nrhs >= 1 && B.size() == static_cast<size_t>(n) * nrhs, "E_SHAPE",
          "expected " + std::to_string(static_cast<size_t>(n) * nrhs) + " right-hand-side values, got " +
              std::to_string(B.size()));
#if defined(BL_HAVE_CBLAS)
  // Column-major copies: a = A (transposed from row-major), b [n, nrhs] likewise.
  std::vector<double> a(A.size()), b(B.size());
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) a[static_cast<size_t>(j) * n + i] = A[static_cast<size_t>(i) * n + j];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < nrhs; j++) b[static_cast<size_t>(j) * n + i] = B[static_cast<size_t>(i) * nrhs + j];
  std::vector<int> ipiv(n);
  int info = 0;
  dgesv_(&n, &nrhs, a.data(), &n, ipiv.data(), b.data(), &n, &info);
  require(info <= 0, "E_INVALID_ARG", "the matrix is singular (dgesv: U(" + std::to_string(info) + ") is zero)");
  require(info == 0, "E_NATIVE", "dgesv failed (info " + std::to_string(info) + ")");
  std::vector<double> x(B.size());
  for (int i = 0; i < n; i++)
    for (int j = 0; j < nrhs; j++) x[static_cast<size_t>(i) * nrhs + j] = b[static_cast<size_t>(j) * n + i];
  return x;
#else
  unavailable("solve");
#endif
}

std::vector<double> singular_values(const std::vector<double>& A, int m, int n) {
  require(m >= 1 && n >= 1 && A.size() == static_cast<size_t>(m) * n, "E_SHAPE",
          "expected " + std::to_string(static_cast<size_t>(m) * n) + " values for a " + std::to_string(m) + " x " +
              std::to_string(n) + " matrix, got " + std::to_string(A.size()));
#if defined(BL_HAVE_CBLAS)
  // Row-major [m, n] read as column-major is A^T [n, m]: same singular values.
  std::vector<double> a(A);
  const int rows = n, cols = m;
  std::vector<double> s(std::min(m, n));
  const char jobz = 'N';
  const int one = 1;
  int info = 0;
  int lwork = -1;
  double query = 0;
  std::vector<int> iwork(8 * static_cast<size_t>(std::min(m, n)));
  dgesdd_(&jobz, &rows, &cols, a.data(), &rows, s.data(), nullptr, &one, nullptr, &one, &query, &lwork, iwork.data(),
          &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(lwork);
  dgesdd_(&jobz, &rows, &cols, a.data(), &rows, s.data(), nullptr, &one, nullptr, &one, work.data(), &lwork,
          iwork.data(), &info);
  require(info == 0, "E_NATIVE", "dgesdd failed (info " + std::to_string(info) + ")");
  return s;
#else
  unavailable("singular values");
#endif
}

}  // namespace bl::linalg
