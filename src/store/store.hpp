#pragma once
// The on-disk store (DESIGN.md "Storage layout"), default /var/lib/certpilot:
//
//   accounts/<ca-host>/<account-id>/{account.json, key.pem}
//   certificates/<name>                 symlink -> .<name>.versions/<n>  (the current version)
//   certificates/.<name>.versions/<n>/{cert.pem, chain.pem, fullchain.pem, key.pem, meta.json,
//                                       archive -> ../archive}
//   certificates/.<name>.versions/archive/<serial>/...   previous versions, newest `archive_keep`
//   certificates/.<name>.versions/state.json            renewal state before the first issuance
//   locks/<name>.lock
//
// So certificates/<name>/fullchain.pem and certificates/<name>/archive/<serial>/ resolve as
// documented, and one certificate's files change together: a new version folder is written and
// fsync'ed, then the <name> symlink is swapped with one rename(2), then the parent is fsync'ed. A
// crash at any point leaves the old or the new version complete; leftovers are cleaned by open().
// Keys are 0600, folders 0700.
//
// Thread safety: a Store is an immutable description of paths; its methods may be called from
// several threads. Writers for one name must hold that name's CertLock (the methods take it as
// proof), which serialises threads and processes alike.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "store/lock.hpp"
#include "store/meta.hpp"
#include "util/result.hpp"

namespace certpilot::store {

using util::Result;

// Test hook: called with the name of each step of a write ("version_written", "before_swap",
// "after_swap", ...); returning an error aborts the write right there, as a crash would, and the
// leftovers stay on disk for the next open() to clean.
using FaultHook = std::function<Result<void>(std::string_view step)>;

struct StoreOptions {
  std::filesystem::path root;  // e.g. /var/lib/certpilot ([storage] dir)
  int archive_keep = 5;        // previous versions kept per certificate ([storage] archive_keep)
  FaultHook fault_hook;        // tests only
};

struct StoredCertificate {
  std::filesystem::path dir;  // the resolved version folder
  crypto::PrivateKey key;
  crypto::CertificateChain chain;
  CertificateMeta meta;
};

struct AccountRecord {
  std::string id;            // folder name; derived from url when empty on save
  std::string url;           // the account URL ("kid", RFC 8555 §7.3)
  std::string directory_url; // the CA's directory URL
  std::vector<std::string> contact;  // "mailto:..." URIs
  std::optional<SysTime> created;
};

struct StoredAccount {
  AccountRecord record;
  crypto::PrivateKey key;
  std::filesystem::path dir;
};

// Certificate names: 1..64 of [a-z0-9._-], not starting with '.' or '-' (they become file names).
Result<void> validate_certificate_name(std::string_view name);

// The accounts/ folder for a directory URL: its host[:port], lowercased, with anything outside
// [a-z0-9.-] replaced by '_' ("https://localhost:14000/dir" -> "localhost_14000").
Result<std::string> ca_host_folder(std::string_view directory_url);

// Checks that key belongs to the leaf and, when names is not empty, that the leaf's dNSName SANs are
// exactly those names (order and case ignored). Errors say what differs; nothing is written on error.
Result<void> verify_material(const crypto::PrivateKey& key, const crypto::CertificateChain& chain,
                             const std::vector<std::string>& names);

class Store {
 public:
  // Creates root, certificates/, accounts/, locks/ (0700) if missing, and cleans leftovers of
  // interrupted writes for every certificate whose lock is free.
  static Result<Store> open(StoreOptions options);

  const std::filesystem::path& root() const { return options_.root; }
  // certificates/<name>: the stable path for deploy hooks and the TLS listener.
  std::filesystem::path certificate_path(std::string_view name) const;

  Result<CertLock> lock(std::string_view name, LockWait wait) const;
  // Held while the account for a CA is looked up or registered (and a key rollover finished), so
  // processes starting together on a fresh store, like the daemon's renewal jobs, register one
  // account rather than one each. Waits for the holder.
  Result<CertLock> lock_accounts() const;

  // --- certificates ---
  // Writes key + chain + meta as a new version and switches to it; the previous version moves to
  // archive/<serial>/ and the archive is pruned to archive_keep. Verifies the material first
  // (verify_material with meta.domains). meta.name, serial, not_before/not_after and key_type are
  // filled from the material. Requires the name's lock.
  Result<void> save_certificate(const CertLock& lock, const crypto::PrivateKey& key,
                                const crypto::CertificateChain& chain, CertificateMeta meta) const;
  // nullopt when the name was never issued.
  Result<std::optional<StoredCertificate>> load_certificate(std::string_view name) const;
  // The current meta.json (or state.json before the first issuance); nullopt when neither exists.
  // Call again after taking the lock to re-check whether work is still needed.
  Result<std::optional<CertificateMeta>> read_meta(std::string_view name) const;
  // Replaces the renewal state atomically (meta.json of the current version, or state.json).
  Result<void> write_meta(const CertLock& lock, const CertificateMeta& meta) const;
  // Names with a current version, sorted.
  Result<std::vector<std::string>> list_certificates() const;
  // Serials in archive/, newest first.
  Result<std::vector<std::string>> list_archive(std::string_view name) const;

  // --- accounts ---
  // Writes accounts/<ca-host>/<id>/{account.json, key.pem 0600} as one step (a temp folder renamed
  // into place; an existing account is exchanged atomically, e.g. after a key rollover).
  Result<AccountRecord> save_account(AccountRecord record, const crypto::PrivateKey& key) const;
  // The newest account for this CA directory URL; nullopt when there is none. Folders that do not
  // load (no account.json, an unreadable or corrupt account.json or key.pem) are skipped with a
  // warning naming them and never removed; but when none loads for this URL and one such account
  // exists, Errc::io naming it, so a broken account is repaired rather than silently replaced.
  Result<std::optional<StoredAccount>> find_account(std::string_view directory_url) const;
  Result<StoredAccount> load_account(std::string_view directory_url, std::string_view id) const;
  // Every account.json that loads, under every CA host; the others are skipped with a warning.
  Result<std::vector<AccountRecord>> list_accounts() const;

 private:
  explicit Store(StoreOptions options) : options_(std::move(options)) {}
  Result<void> step(std::string_view name) const;
  void clean_leftovers(const std::string& name) const;  // caller holds the lock
  void clean_account_leftovers() const;
  Result<void> archive_version(const std::filesystem::path& versions, const std::filesystem::path& old) const;
  void prune_archive(const std::filesystem::path& versions) const;

  StoreOptions options_;
};

}  // namespace certpilot::store
