#pragma once
// The write side of the certificate set: a table of named certificates (a store folder name, a
// --certs folder, a renewed certificate handed over by the daemon), each validated on its own.
// A change builds a complete new CertSet and publishes it; a certificate that fails validation
// leaves the table, and so what is served, exactly as it was.
//
// Isolation is per certificate, not per reload (hitch rolls back a whole reload): one broken
// renewal must not hold back the others written at the same time, and every entry in the table
// has passed validation, so any subset is a valid set. put_all() is there for callers that want
// the all-or-nothing transaction.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tls/cert_set.hpp"
#include "tls/publisher.hpp"

namespace certpilot::tls {

class CertRegistry {
 public:
  // `publisher` must outlive the registry. Nothing is published until the first successful put.
  CertRegistry(CertPublisher& publisher, TlsSettings settings, SniOptions sni);

  // Validates `material` at `now` and, if it passes, serves it under `id` (replacing what `id`
  // had). On error nothing changes and the error names the file and the reason. Thread-safe;
  // runs on the caller's thread (never an event loop), so the caller pays for the validation.
  Result<void> put(const std::string& id, const CertMaterial& material, util::SysTime now);
  // All or nothing: every item validates, or nothing changes.
  Result<void> put_all(const std::vector<std::pair<std::string, CertMaterial>>& items, util::SysTime now);
  // Stops serving `id`. Refused (error) when it would leave nothing to serve.
  Result<void> remove(const std::string& id);

  // The entries being served, by id.
  std::map<std::string, CertInfo> served() const;

 private:
  // Builds a set from `next` and publishes it; on success `next` becomes the table.
  Result<void> commit_locked(std::map<std::string, CertEntryPtr> next);

  CertPublisher& publisher_;
  const TlsSettings settings_;
  const SniOptions sni_;
  // Writers are serialised so two reloads cannot publish out of order. The handshake path never
  // takes this lock (it reads the publisher), so building contexts under it stalls no connection.
  mutable std::mutex mu_;
  std::map<std::string, CertEntryPtr> entries_;  // guarded by mu_
};

}  // namespace certpilot::tls
