// Backend lookup by name. CUDA is compiled in only with BL_WITH_CUDA (the biaslearn_cuda module).
#include "../common/error.h"
#include "backend.h"

namespace bl {

#ifdef BL_WITH_CUDA
std::shared_ptr<Backend> make_cuda_backend();  // throws E_BACKEND_UNAVAILABLE when no device
#endif

std::shared_ptr<Backend> get_backend(const std::string& name) {
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") {
#ifdef BL_WITH_CUDA
    return make_cuda_backend();
#else
    fail("E_BACKEND_UNAVAILABLE", "this module was built without CUDA (build it with `npm run build:cuda`)");
#endif
  }
  fail("E_INVALID_ARG", "expected 'cpu' or 'cuda' for backend, got '" + name + "'");
}

void Backend::unsupported(const char* op) const {
  fail("E_BACKEND_UNAVAILABLE", std::string("the '") + name() + "' backend does not implement " + op);
}

std::string compiled_backends() {
#ifdef BL_WITH_CUDA
  return "cpu,cuda";
#else
  return "cpu";
#endif
}

}  // namespace bl
