// Size checks made before anything is allocated. Every array a call allocates holds at most
// kMaxElements elements (2^32: 16 GiB of float32); an element count that overflows or exceeds it
// is E_INVALID_ARG naming the count, and a host allocation larger than the machine's physical
// memory is E_OOM naming the bytes (it could only end in the kernel's OOM killer otherwise).
#pragma once
#if !defined(_WIN32)
#include <unistd.h>
#endif

#include <cstdint>
#include <initializer_list>
#include <string>

#include "error.h"

namespace bl {

constexpr uint64_t kMaxElements = uint64_t(1) << 32;

// The product of dims (each >= 0), or E_INVALID_ARG when it overflows or exceeds kMaxElements.
inline size_t checked_count(std::initializer_list<uint64_t> dims, const std::string& what) {
  uint64_t n = 1;
  std::string shape;
  bool over = false;
  for (uint64_t d : dims) {
    shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    if (d != 0 && n > kMaxElements / d) over = true;
    n = over ? n : n * d;
  }
  for (uint64_t d : dims)
    if (d == 0) return 0;
  if (over || n > kMaxElements)
    fail("E_INVALID_ARG", what + " needs " + shape + " elements, more than the maximum of 2^32 per array");
  return static_cast<size_t>(n);
}

// Physical memory in bytes (0 when unknown).
inline uint64_t physical_memory_bytes() {
  static const uint64_t bytes = [] {
#if defined(_WIN32)
    return uint64_t(0);
#else
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : uint64_t(0);
#endif
  }();
  return bytes;
}

// E_OOM naming `bytes` (and `what`) when they exceed the physical memory.
inline void require_host_memory(uint64_t bytes, const std::string& what) {
  const uint64_t phys = physical_memory_bytes();
  if (phys && bytes > phys)
    fail("E_OOM", "out of memory: " + what + " needs " + std::to_string(bytes) + " bytes, more than the " +
                      std::to_string(phys) + " bytes of this machine");
}

}  // namespace bl
