#include "store/detail/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/dirs.hpp"
#include "util/unique_fd.hpp"

namespace certpilot::store::detail {
namespace {

using util::Errc;
using util::fail;

util::Unexpected io_error(std::string_view what, const fs::path& path, int err) {
  return fail(err == ENOENT ? Errc::not_found : Errc::io,
              std::string(what) + " " + path.string() + ": " + std::strerror(err));
}


}  // namespace

Result<void> make_dir(const fs::path& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return io_error("creating folder", path, errno);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return io_error("inspecting folder", path, errno);
  if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::io, "creating folder " + path.string() + ": exists and is not a folder");
  }
  // mkdir's mode is filtered by the umask; set it exactly.
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0) {
    return io_error("setting mode of", path, errno);
  }
  return util::ok();
}

Result<void> make_dirs(const fs::path& path, mode_t mode) {
  if (auto r = util::make_missing_dirs(path, mode); !r) return r;
  return make_dir(path, mode);  // an existing `path` gets its mode corrected
}

Result<void> write_new_file(const fs::path& path, std::string_view data, mode_t mode) {
  util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) return io_error("creating", path, errno);
  // The umask may have removed bits; a key file must be exactly 0600, never wider.
  if (::fchmod(fd.get(), mode) != 0) return io_error("setting mode of", path, errno);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("writing", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return io_error("syncing", path, errno);
  if (fd.close() != 0) return io_error("closing", path, errno);
  return util::ok();
}

Result<void> fsync_dir(const fs::path& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("opening folder", path, errno);
  if (::fsync(fd.get()) != 0) return io_error("syncing folder", path, errno);
  return util::ok();
}

Result<void> replace_file(const fs::path& path, std::string_view data, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash
  if (auto r = write_new_file(tmp, data, mode); !r) {
    ::unlink(tmp.c_str());  // e.g. a full disk: no partial file left beside the good one
    return r;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("renaming into place", path, err);
  }
  return fsync_dir(path.parent_path());
}

Result<void> replace_symlink(const fs::path& link, const fs::path& target) {
  fs::path tmp = link;
  tmp += ".link-tmp";
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) return io_error("creating symlink", tmp, errno);
  // rename(2) replaces the old symlink atomically: a reader resolves either the old or the new target.
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("switching symlink", link, err);
  }
  return fsync_dir(link.parent_path());
}

Result<std::string> read_file(const fs::path& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("reading", path, errno);
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("reading", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void remove_tree(const fs::path& path) noexcept {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace certpilot::store::detail
