#pragma once
// An HTTPS reverse proxy on 127.0.0.1 (a free port) in front of a PebbleFixture that adds ACME
// Renewal Information (RFC 9773) to it: Debian's Pebble 2.4 has no `renewalInfo`.
//
//   - Every request but renewal-info is forwarded to Pebble (libcurl, trusting Pebble's bundle)
//     with the proxy's own Host header, so Pebble builds every URL (directory, orders, account
//     "kid", Location) on the proxy's origin and checks each JWS `url` against it; any URL still
//     naming Pebble's origin is rewritten as well. The client keeps talking to the proxy.
//   - The directory gets "renewalInfo": <proxy>/ari/renewal-info.
//   - GET <renewalInfo>/<certID> answers what the test set (per certificate id, else the
//     default): suggestedWindow, explanationURL, Retry-After; or a failure status / raw body.
//   - Each renewal-info request and each newOrder payload (its `replaces`) is recorded.
//   - reject_next_replaces(): the next newOrder carrying `replaces` gets a 409
//     urn:ietf:params:acme:error:alreadyReplaced problem instead of reaching Pebble.
//
// The proxy serves Pebble's own TLS certificate (IP:127.0.0.1, from pebble/start.sh), so a client
// trusts it through the same CA bundle (`--ca-bundle`, `[ca] ca_bundle`). Responses always carry
// `Connection: close`. Test-only code: start() throws std::runtime_error on setup failures. All
// public members are thread-safe; the proxy serves each connection on its own thread.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/pebble_fixture.hpp"
#include "util/clock.hpp"

namespace certpilot::test {

// What GET renewalInfo/<certID> answers.
struct RenewalInfoAnswer {
  util::SysTime window_start;
  util::SysTime window_end;
  std::string explanation_url;                      // omitted when empty
  std::optional<std::chrono::seconds> retry_after;  // Retry-After header (delta-seconds)
  int status = 200;                                 // another status answers `raw_body` as is
  std::optional<std::string> raw_body;              // replaces the JSON document (garbage tests)
};

// A window [now + from, now + to] (negative durations: in the past).
RenewalInfoAnswer window_from_now(std::chrono::seconds from, std::chrono::seconds to,
                                  std::optional<std::chrono::seconds> retry_after = std::nullopt);

struct SeenNewOrder {
  std::optional<std::string> replaces;   // the payload's `replaces`, when present
  std::vector<std::string> identifiers;  // dns values
  bool rejected = false;                 // answered 409 alreadyReplaced by the proxy
};

class AriProxy {
 public:
  // Listens at once; the default answer is a window 30..31 days from now with Retry-After 6 h.
  static std::unique_ptr<AriProxy> start(const PebbleFixture& pebble);
  ~AriProxy();
  AriProxy(const AriProxy&) = delete;
  AriProxy& operator=(const AriProxy&) = delete;

  std::string directory_url() const;     // https://127.0.0.1:P/dir
  std::string renewal_info_url() const;  // https://127.0.0.1:P/ari/renewal-info

  // The answer for every certificate id without its own.
  void set_default_answer(RenewalInfoAnswer answer);
  // The answer for one certificate id (RFC 9773 §4.1 form).
  void set_answer(const std::string& cert_id, RenewalInfoAnswer answer);
  // The next newOrder with `replaces` is refused with 409 alreadyReplaced (once).
  void reject_next_replaces();

  // Certificate ids of the renewal-info requests so far, in order.
  std::vector<std::string> renewal_info_requests() const;
  std::vector<SeenNewOrder> new_orders() const;
  void clear_records();

  struct Impl;

 private:
  explicit AriProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace certpilot::test
