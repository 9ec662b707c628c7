// Finding the MPI module's collective (native/distributed/collective.h) from a model module.
#pragma once
#include <string>

#include "../distributed/collective.h"

namespace bl {

// The collective of the MPI module already loaded from `path` (dlopen RTLD_NOLOAD, dlsym
// bl_collective_v1), checked for magic, version and initialisation. E_DISTRIBUTED saying why not.
const BlCollective* find_collective(const std::string& path);

}  // namespace bl
