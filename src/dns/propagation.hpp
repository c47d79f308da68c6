#pragma once
// Waiting until the TXT values are served: by every authoritative nameserver of each zone (the
// default: that is what the CA's resolver will ask), by a given list of resolvers, or not at all
// (a fixed delay). Before a CA is told to validate (RFC 8555 §7.5.1), the record must be visible.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/lookup.hpp"
#include "dns/resolver.hpp"
#include "util/clock.hpp"

namespace certpilot::dns {

enum class PropagationMode { authoritative, resolvers, off };
// "authoritative", "resolvers", "off"; the error lists them.
Result<PropagationMode> parse_propagation_mode(const std::string& text);

struct PropagationOptions {
  PropagationMode mode = PropagationMode::authoritative;
  std::vector<std::string> resolvers;  // mode resolvers: the servers to ask ("ip[:port]")
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds off_delay{std::chrono::seconds(30)};  // mode off
  std::chrono::milliseconds query_timeout{2000};                   // one try of one query
  // Test/advanced: ask every nameserver address at this port instead of 53, for authoritative
  // servers run on loopback without privileges (the NS records cannot carry a port).
  std::optional<std::uint16_t> nameserver_port_override;
};

// Returns when every expectation is met. `lookup` is the operator's resolver (used to find each
// zone's NS records and their addresses; a nameserver without an address is warned about once per
// call and skipped). Asks every `interval` until `timeout` has passed, the last pause shortened so
// that a final round runs at the deadline. Then Errc::timeout: "propagation check: not every
// server serves the TXT records after 120s (timeout 120s, 3 rounds): " and one part per server
// and name saying what it answered ("ns1.a.test (127.0.0.1:53) _acme-challenge.a.test:
// TXT \"x\" (missing \"y\")"); the time is the time really waited. Cancellation
// (util::cancel_requested) ends the wait with Errc::cancelled.
Result<void> wait_for_propagation(Resolver& lookup, const std::vector<TxtExpectation>& expected,
                                  const PropagationOptions& options,
                                  const util::Clock& clock = util::SystemClock::instance());

}  // namespace certpilot::dns
