#include "collective_attach.h"

#ifndef _WIN32
#include <dlfcn.h>
#endif

#include "../common/error.h"

namespace bl {

const BlCollective* find_collective(const std::string& path) {
#ifdef _WIN32
  fail("E_DISTRIBUTED", "distributed training is not supported on Windows");
#else
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  require(handle != nullptr, "E_DISTRIBUTED", "the MPI module " + path + " is not loaded in this process");
  auto entry = reinterpret_cast<BlCollectiveEntry>(dlsym(handle, "bl_collective_v1"));
  dlclose(handle);  // drops the reference RTLD_NOLOAD added; Node keeps the module loaded
  require(entry != nullptr, "E_DISTRIBUTED", path + " has no bl_collective_v1 (not a biaslearn MPI module)");
  const BlCollective* c = entry();
  require(c && c->magic == BL_COLLECTIVE_MAGIC && c->version == BL_COLLECTIVE_VERSION, "E_DISTRIBUTED",
          path + " speaks another collective ABI version; rebuild it with this biaslearn");
  require(c->allreduce_f32 != nullptr, "E_DISTRIBUTED", "MPI is not initialised in " + path);
  return c;
#endif
}

}  // namespace bl
