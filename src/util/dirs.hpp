#pragma once
// Creating folders that may hold keys: never wider than asked, whatever the umask.
#include <sys/types.h>

#include <filesystem>

#include "util/result.hpp"

namespace certpilot::util {

// Creates every missing component of `path` (including `path`) with exactly `mode`: mkdir(2) with
// `mode`, then chmod(2) of the folder just created, since the umask may have removed bits the
// owner needs. Folders that already exist (or symlinks to folders) are left as they are: their
// mode is someone's choice. Not atomic: a failure may leave the components created so far.
// Errors name the component: Errc::io, or Errc::not_found for ENOENT; a component that exists and
// is not a folder is Errc::io. Thread-safe (no shared state); racing creators both succeed.
Result<void> make_missing_dirs(const std::filesystem::path& path, mode_t mode = 0700);

}  // namespace certpilot::util
