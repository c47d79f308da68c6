#pragma once
// The one error type every module returns. A message reads "what was being done: what went wrong,
// and the value seen"; each boundary prepends its context with wrapped(). Never put a secret in it.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certpilot::util {

enum class Errc {
  invalid_input,  // the user's input or configuration is wrong: fix it and run again
  not_found,
  io,             // local files
  network,        // transport: connect, DNS resolution of a URL host, reset
  tls,            // TLS verification or handshake
  dns,            // DNS-01 provider or DNS query failures
  timeout,
  acme_problem,   // the CA answered with a problem document
  bad_nonce,
  rate_limited,
  unauthorized,   // the CA refused our account or a validation failed
  conflict,       // lock held by another process, or state changed under us
  cancelled,      // SIGINT/SIGTERM
  internal,
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string acme_type;  // "urn:ietf:params:acme:error:..." when the CA sent a problem document
  std::optional<std::chrono::seconds> retry_after;
  std::vector<std::string> details;  // e.g. subproblems, one line each

  Error() = default;
  Error(Errc c, std::string msg) : code(c), message(std::move(msg)) {}

  // "context: message". Keeps code, acme_type, retry_after.
  [[nodiscard]] Error wrapped(std::string_view context) const&;
  [[nodiscard]] Error wrapped(std::string_view context) &&;

  // Message with details appended ("; " separated), for a one-line report.
  [[nodiscard]] std::string describe() const;
};

}  // namespace certpilot::util
