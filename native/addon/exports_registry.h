// Each model kind's binding file registers a function that adds its exports to the module, so a
// new kind (RNN, multi-task, ...) is one new file and no edit of addon.cpp:
//   static void InitRnn(Napi::Env env, Napi::Object exports) { ... }
//   BL_REGISTER_EXPORTS(InitRnn);
#pragma once
#include <napi.h>

#include <vector>

namespace bl {

using ExportsInit = void (*)(Napi::Env, Napi::Object);

inline std::vector<ExportsInit>& exports_registry() {
  static std::vector<ExportsInit> inits;
  return inits;
}

inline int register_exports(ExportsInit fn) {
  exports_registry().push_back(fn);
  return 0;
}

}  // namespace bl

#define BL_REGISTER_EXPORTS(fn) [[maybe_unused]] static const int bl_registered_##fn = ::bl::register_exports(fn)
