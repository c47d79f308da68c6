#pragma once
// Durable file-system steps the store is built from. Each either completes (data and directory entry
// on disk, fsync'ed) or leaves nothing the store would mistake for a finished result.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace certpilot::store::detail {

namespace fs = std::filesystem;
using util::Result;

// Creates path with exactly `mode` (0700 for store folders) if missing; an existing folder gets its
// mode corrected. Errors name the path.
Result<void> make_dir(const fs::path& path, mode_t mode = 0700);
// make_dir for every missing component below (and including) path (util::make_missing_dirs), then
// make_dir(path): `path` itself ends with exactly `mode` even if it existed; its parents that
// already existed are left alone.
Result<void> make_dirs(const fs::path& path, mode_t mode = 0700);

// Creates a new file (it must not exist) with `mode`, writes data and fsyncs it.
Result<void> write_new_file(const fs::path& path, std::string_view data, mode_t mode);

// Replaces path atomically: writes path + ".tmp", fsyncs, rename(2)s over path, fsyncs the folder.
Result<void> replace_file(const fs::path& path, std::string_view data, mode_t mode);

// fsync(2) on a folder, so the entries created or renamed in it survive a crash.
Result<void> fsync_dir(const fs::path& path);

// Points link at target (a relative target is resolved from link's folder) in one rename(2) of a
// temporary symlink over link, then fsyncs link's folder. Readers see the old or the new target.
Result<void> replace_symlink(const fs::path& link, const fs::path& target);

// Reads a whole file. not_found when missing.
Result<std::string> read_file(const fs::path& path);

// Removes a tree, ignoring errors (clean-up of leftovers).
void remove_tree(const fs::path& path) noexcept;

}  // namespace certpilot::store::detail
