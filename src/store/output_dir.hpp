#pragma once
// `certpilot issue --out DIR`: a plain set of files outside the store, replaced atomically.
//
// DIR is a symlink to DIR.versions/<n>/ holding key.pem (0600), cert.pem, chain.pem, fullchain.pem.
// A new set is written to DIR.versions/<n+1>.tmp, fsync'ed, renamed, and DIR is switched with one
// rename(2) of a temporary symlink, so a reader opening DIR/key.pem and DIR/cert.pem sees one set;
// rename(2) cannot replace a non-empty folder, a symlink it can. The previous set is kept (a reader
// that resolved DIR just before the switch still finds its files); older ones are removed. When DIR
// named no existing set (an operator pointed it at a number that is gone, or removed it), the
// `keep_unlinked` newest sets are kept besides the new one, with a warning: never all removed.
//
// A manual rollback points DIR at an earlier set: "ln -sfn DIR.versions/<n> DIR", relative or
// absolute; any symlink whose target resolves (canonically) inside DIR.versions/ is certpilot's.
// The link certpilot writes next is relative again.
//
// If DIR exists and is not such a symlink (a plain folder or file from elsewhere), nothing is
// touched and the error says how to proceed: certpilot never deletes or migrates files it did not
// write.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace certpilot::store {

struct OutputDirOptions {
  FaultHook fault_hook;  // tests only; steps "version_written", "before_swap"
  // Sets kept besides the new one when DIR named no existing set, 0 or more; the store's default
  // archive_keep, since nothing tells which of them the operator still wants.
  int keep_unlinked = StoreOptions{}.archive_keep;
};

// Checks, without creating or changing anything, that write_output_dir could write `dir`: nothing
// is there yet, or it is a symlink into DIR.versions/ that certpilot made. Call it before obtaining
// a certificate, so a bad --out costs no issuance. Returns `dir` as write_output_dir uses it:
// absolute, lexically normal, without a trailing '/' ("out/" and "out" are the same DIR).
// Errors name the path, what is there and what to do: Errc::invalid_input for a foreign file,
// folder or symlink at DIR or a path naming no folder ("/"); Errc::io when DIR cannot be inspected
// (a parent is a file, a symlink loop). A missing parent is not an error. Thread-safe.
util::Result<std::filesystem::path> check_output_dir(const std::filesystem::path& dir);

// Holds DIR for the length of one `certpilot issue`: checks it as check_output_dir does, creates
// DIR.versions/ (0700; its parents must exist) and takes DIR's lock, so a second certpilot
// writing the same DIR stops before it orders (Errc::conflict, naming the holder's pid) instead of
// racing the first for the same DNS records. A DIR.versions/ that cannot be created (a file is
// there, a read-only or virtual file system) is Errc::io, also before any order. Released when
// destroyed; a DIR.versions/ this hold created and that stayed empty is removed then.
class OutputDirHold {
 public:
  static util::Result<OutputDirHold> take(const std::filesystem::path& dir);
  OutputDirHold(OutputDirHold&& other) noexcept;
  OutputDirHold& operator=(OutputDirHold&&) = delete;
  ~OutputDirHold();
  const std::filesystem::path& dir() const { return dir_; }  // absolute, normalised

 private:
  OutputDirHold() = default;
  std::filesystem::path dir_;
  std::optional<CertLock> lock_;
  bool created_versions_ = false;
};

// Verifies first (verify_material: the key matches the leaf, the leaf names exactly `names` when
// not empty); on any error nothing is written. Repeats check_output_dir's check (same errors), since
// DIR may have changed since. Errc::invalid_input for material or a foreign DIR,
// Errc::conflict when another certpilot writes the same DIR, Errc::io for the file system.
util::Result<void> write_output_dir(const std::filesystem::path& dir, const crypto::PrivateKey& key,
                                    const crypto::CertificateChain& chain, const std::vector<std::string>& names,
                                    const OutputDirOptions& options = {});
// The same, for a DIR already held (no second lock).
util::Result<void> write_output_dir(const OutputDirHold& hold, const crypto::PrivateKey& key,
                                    const crypto::CertificateChain& chain, const std::vector<std::string>& names,
                                    const OutputDirOptions& options = {});

}  // namespace certpilot::store
