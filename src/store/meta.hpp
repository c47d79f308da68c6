#pragma once
// meta.json: what the store knows about one certificate (facts about the issued certificate, and the
// renewal state the scheduler persists so a restart neither forgets failures nor hammers the CA).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::store {

using util::SysTime;

struct CertificateMeta {
  // Facts, set when the certificate is saved.
  std::string name;
  std::vector<std::string> domains;  // as requested, normalized
  std::string key_type;              // "ec256", ... (crypto::to_string(KeyType))
  std::string serial;                // lowercase hex (crypto::Certificate::serial_hex)
  std::string ca_directory;          // directory URL of the CA that issued it
  std::string account_id;            // account URL (kid) that ordered it
  std::string ari_cert_id;           // RFC 9773 §4.1 identifier ("" when no AKI)
  std::optional<SysTime> issued_at;  // when certpilot saved it
  std::optional<SysTime> not_before;
  std::optional<SysTime> not_after;

  // Renewal state, updated by the scheduler (Store::write_meta).
  std::optional<SysTime> next_check;   // when the scheduler looks at it again (ARI poll or renewal)
  std::optional<SysTime> renew_at;     // the renewal time chosen (kept across polls of one ARI window)
  // Set when this certificate was ordered because the CA's ARI window for the previous one had
  // already passed: the loop guard in agent/renewal_policy.
  std::optional<SysTime> replaced_for_past_ari_window;
  int failure_count = 0;               // consecutive failures; 0 after a success
  std::optional<SysTime> last_failure;
  std::optional<std::int64_t> retry_after_seconds;  // the CA's Retry-After with the last failure
  std::vector<SysTime> recent_failures;             // failure times within the last hour
  std::string last_error;                           // one line, never a secret
};

// JSON text (stable key order, times as RFC 3339 UTC seconds) and back. Unknown keys are ignored
// so an older certpilot can read a newer file; a malformed file is invalid_input naming the key.
std::string meta_to_json(const CertificateMeta& meta);
util::Result<CertificateMeta> meta_from_json(std::string_view text);


}  // namespace certpilot::store
