// Dense float64 linear algebra for the analysis modules, through LAPACK (OpenBLAS ships it): the
// eigenvalues of a general square matrix (dgeev), the solution of A X = B (dgesv) and singular
// values (dgesdd). Inputs are row-major; LAPACK is column-major, so each routine either uses
// that A and A^T share the quantity computed (eigenvalues, singular values) or transposes a copy.
// Built without OpenBLAS (the built-in gemm), every routine throws E_BACKEND_UNAVAILABLE and
// lapack_available() is false. Runs on the calling thread (the binding calls it from a worker).
#pragma once
#include <vector>

namespace bl::linalg {

bool lapack_available();

// Eigenvalues of A [n, n] (row-major): re[n], im[n], in LAPACK's order (conjugate pairs adjacent).
void eigenvalues(const std::vector<double>& A, int n, std::vector<double>& re, std::vector<double>& im);

// X [n, nrhs] (row-major) solving A X = B for A [n, n], B [n, nrhs]; a singular A is E_INVALID_ARG.
std::vector<double> solve(const std::vector<double>& A, int n, const std::vector<double>& B, int nrhs);

// Singular values of A [m, n] (row-major), descending, min(m, n) of them.
std::vector<double> singular_values(const std::vector<double>& A, int m, int n);

}  // namespace bl::linalg
