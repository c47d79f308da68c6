#include "util/memory.hpp"

#include <fstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace certpilot::util {

bool limit_malloc_arenas(int n) {
#if defined(__GLIBC__)
  return n > 0 && mallopt(M_ARENA_MAX, n) == 1;
#else
  (void)n;
  return false;
#endif
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::optional<std::size_t> resident_anon_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "RssAnon:") {
      std::size_t kib = 0;
      if (in >> kib) return kib;
      return std::nullopt;
    }
    in.ignore(4096, '\n');
  }
  return std::nullopt;
}

}  // namespace certpilot::util
