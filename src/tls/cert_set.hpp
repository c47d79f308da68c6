#pragma once
// CertEntry: one validated certificate (key matches the leaf, chain in issuing order, every
// certificate valid at the given time, at least one DNS name). CertSet: an immutable set of
// entries compiled into one SSL_CTX per name, with SNI selection. Both are built off the handshake
// path (reload thread, renewal daemon) and then shared read-only by every event loop.
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crypto/ossl.hpp"
#include "tls/settings.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::tls {

using util::Result;

// The PEM text of one certificate, and where it came from (every error names these).
struct CertMaterial {
  std::string key_pem;
  std::string chain_pem;  // leaf first, then intermediates in issuing order (fullchain.pem)
  std::string key_source = "key.pem";
  std::string chain_source = "fullchain.pem";
};

enum class KeyKind { ecdsa, rsa };

// What is being served: shown by the built-in responder and in log lines.
struct CertInfo {
  std::string source;              // chain_source of the material
  std::vector<std::string> names;  // lower-case DNS names from subjectAltName (else the CN)
  std::vector<std::string> ip_addresses;  // iPAddress entries of subjectAltName, as text (no SNI selects these)
  std::string serial_hex;          // upper-case hex, as `openssl x509 -serial` prints it
  util::SysTime not_after;
  std::string not_after_text;      // "2026-01-31T12:00:00Z"
  KeyKind key_kind = KeyKind::ecdsa;
};

class CertEntry {
 public:
  // Parses and checks the material at time `now`. The error names the file and the reason.
  static Result<std::shared_ptr<const CertEntry>> create(const CertMaterial& material, util::SysTime now);

  const CertInfo& info() const { return info_; }
  X509* leaf() const { return leaf_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  STACK_OF(X509) * intermediates() const { return intermediates_.get(); }

 private:
  CertEntry() = default;
  CertInfo info_;
  crypto::X509Ptr leaf_;
  crypto::EvpPkeyPtr key_;
  crypto::X509StackPtr intermediates_;
};
using CertEntryPtr = std::shared_ptr<const CertEntry>;

struct SniOptions {
  // Served when the client sends no SNI or a name no certificate covers. Empty: such handshakes
  // are refused with an unrecognized_name alert. Must be covered by one of the certificates.
  std::string default_name;
  // With no default_name: serve the first certificate (first entry given to build) instead of refusing.
  bool default_to_first = false;
};

class CertSet {
 public:
  // Compiles entries into contexts: per name, the newest ECDSA and the newest RSA certificate share
  // one SSL_CTX, so OpenSSL serves ECDSA to clients that offer it and RSA to the others.
  // All or nothing: on error no set is made.
  static Result<std::shared_ptr<const CertSet>> build(std::vector<CertEntryPtr> entries, const TlsSettings& settings,
                                                      const SniOptions& sni);

  // Exact name, then the wildcard one label up ("a.b.example" -> "*.b.example"), then the default;
  // nullptr when none applies. `server_name` may be any case and may end in a dot. Thread-safe.
  SSL_CTX* select(std::string_view server_name) const;
  // The info of the entry whose leaf this is (as returned by SSL_get_certificate), or nullptr.
  const CertInfo* info_for(const X509* leaf) const;
  const std::vector<CertEntryPtr>& entries() const { return entries_; }
  // A default_name was configured but no certificate covers it.
  bool default_missing() const { return default_missing_; }

 private:
  CertSet() = default;
  std::vector<CertEntryPtr> entries_;
  std::vector<crypto::SslCtxPtr> contexts_;
  std::unordered_map<std::string, std::size_t> by_name_;  // index into contexts_
  std::unordered_map<const X509*, const CertInfo*> info_by_leaf_;
  std::ptrdiff_t default_ = -1;
  bool default_missing_ = false;
};
using CertSetPtr = std::shared_ptr<const CertSet>;

// Normalises a DNS name for lookup: lower case, no trailing dot.
std::string normalize_name(std::string_view name);

}  // namespace certpilot::tls
