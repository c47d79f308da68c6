#pragma once
// Handing freed heap memory back to the kernel, for long-running processes that go idle (the
// daemon). glibc keeps freed memory in its arenas for reuse; these calls make it return what it
// can. Both are no-ops on other C libraries.
#include <cstddef>
#include <optional>

namespace certpilot::util {

// Limits glibc to `n` malloc arenas (mallopt M_ARENA_MAX). Call it before starting threads: glibc
// otherwise gives each new thread its own arena (up to 8 per core), and memory freed in one arena
// cannot serve another. Returns false if the C library refused or is not glibc.
bool limit_malloc_arenas(int n);

// Returns free pages of every arena to the kernel (glibc malloc_trim(0)): the heap's top is shrunk
// and whole free pages inside the arenas are discarded. Thread-safe; costs a walk over the free lists,
// so call it when work has just ended, not on a hot path.
void release_free_memory();

// This process's resident anonymous memory (RssAnon of /proc/self/status) in KiB, for a log line;
// nullopt when unavailable.
std::optional<std::size_t> resident_anon_kib();

}  // namespace certpilot::util
