#include "util/dirs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace certpilot::util {

namespace fs = std::filesystem;

namespace {

Unexpected dir_error(std::string_view what, const fs::path& path, int err) {
  return fail(err == ENOENT ? Errc::not_found : Errc::io,
              std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

Result<void> make_missing_dirs(const fs::path& path, mode_t mode) {
  fs::path current;
  for (const auto& part : path) {
    if (part.empty()) continue;  // the empty last element of "a/b/"
    current /= part;
    if (current == current.root_path()) continue;
    struct stat st {};
    if (::stat(current.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return fail(Errc::io, "creating folder " + current.string() + ": exists and is not a folder");
      }
      continue;
    }
    if (::mkdir(current.c_str(), mode) != 0) {
      if (errno == EEXIST && ::stat(current.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // created meanwhile
      return dir_error("creating folder", current, errno);
    }
    // Ours: mkdir's mode went through the umask, so set it exactly.
    if (::chmod(current.c_str(), mode) != 0) return dir_error("setting mode of", current, errno);
  }
  return ok();
}

}  // namespace certpilot::util
