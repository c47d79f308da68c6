#include "store/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certpilot::store {

using util::Errc;
using util::fail;

util::Result<CertLock> CertLock::acquire(const std::filesystem::path& path, const std::string& name, LockWait wait) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return fail(Errc::io, "locking certificate \"" + name + "\": opening " + path.string() + ": " + std::strerror(errno));
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | (wait == LockWait::no_wait ? LOCK_NB : 0));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    if (::pread(fd, buf, sizeof buf - 1, 0) > 0) holder = std::string(buf);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return fail(Errc::conflict, "certificate \"" + name + "\" is being worked on by another certpilot process" +
                                      (holder.empty() ? std::string() : " (pid " + holder + ")") + ", lock " +
                                      path.string() + "; try again when it has finished");
    }
    return fail(Errc::io, "locking certificate \"" + name + "\": " + std::strerror(err));
  }
  // Record our pid for the message another process prints; informational only.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return CertLock(fd, name);
}

CertLock::CertLock(CertLock&& other) noexcept : fd_(other.fd_), name_(std::move(other.name_)) { other.fd_ = -1; }

CertLock& CertLock::operator=(CertLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    name_ = std::move(other.name_);
    other.fd_ = -1;
  }
  return *this;
}

CertLock::~CertLock() {
  // Closing the last descriptor of the file description releases the flock.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace certpilot::store
