// Error checks for the CUDA backend. Every CUDA runtime and cuBLAS call is checked; a failure
// throws BlError("E_NATIVE", "<call> failed: <error string>") (common/error.h), E_OOM when the
// device is out of memory, so the addon
// layer rejects the JS promise instead of aborting the process.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "../../common/error.h"

namespace bl {
namespace cuda {

// "cudaMemcpyAsync(dst, src, ...)" -> "cudaMemcpyAsync": the message names the call, not its
// arguments.
inline std::string call_name(const char* expr) {
  std::string s(expr);
  const size_t paren = s.find('(');
  return paren == std::string::npos ? s : s.substr(0, paren);
}

// Throws E_NATIVE for a failed runtime call. cudaGetLastError() clears a non-sticky error so the
// next call on this thread does not report it again (sticky errors, e.g. an illegal address,
// keep failing every later call, which is what we want).
inline void check_cuda(cudaError_t e, const char* expr, const std::string& extra = std::string()) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();
  std::string msg = call_name(expr) + " failed: " + cudaGetErrorString(e);
  if (!extra.empty()) msg += " (" + extra + ")";
  throw BlError(e == cudaErrorMemoryAllocation ? "E_OOM" : "E_NATIVE", msg);
}

// After a kernel launch: reports launch-configuration errors at once (execution errors surface
// at the next synchronising call).
inline void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw BlError("E_NATIVE", std::string(kernel) + " launch failed: " + cudaGetErrorString(e));
}

}  // namespace cuda
}  // namespace bl

#define BL_CUDA_CHECK(expr) ::bl::cuda::check_cuda((expr), #expr)
#define BL_CUDA_LAUNCHED(kernel_name) ::bl::cuda::check_launch(kernel_name)
