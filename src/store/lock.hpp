#pragma once
// One lock per certificate name (flock(2) on locks/<name>.lock) so `certpilot issue`, `renew` and a
// running daemon never work on one name at the same time. flock locks belong to the open file: the
// kernel drops them when the process dies, so a crash never leaves a stale lock behind.
#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace certpilot::store {

enum class LockWait {
  no_wait,  // fail with Errc::conflict at once if another process holds it (CLI)
  wait,     // block until it is free (daemon worker threads)
};

// Held while alive; movable, not copyable. Two CertLocks on one name conflict even inside one
// process (each opens its own file description). After taking it, re-read the metadata: another
// process may have renewed the certificate while we waited (certmagic obtainCert re-check).
class CertLock {
 public:
  // Opens (creating, 0600) `path` and takes an exclusive flock. The conflict error names the
  // certificate and the pid recorded by the holder.
  static util::Result<CertLock> acquire(const std::filesystem::path& path, const std::string& name, LockWait wait);

  CertLock(CertLock&& other) noexcept;
  CertLock& operator=(CertLock&& other) noexcept;
  CertLock(const CertLock&) = delete;
  CertLock& operator=(const CertLock&) = delete;
  ~CertLock();

  const std::string& name() const { return name_; }

 private:
  CertLock(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_ = -1;
  std::string name_;
};

}  // namespace certpilot::store
