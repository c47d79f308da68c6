#pragma once
// The order in which one event loop serves one epoll batch. Separate from Worker so that the policy
// is tested on its own, without sockets or clocks.
#include <cstddef>
#include <vector>

namespace certpilot::tls::detail {

// Answering a ClientHello (key exchange and signature, about 0.3 ms of CPU for ECDSA P-256) costs
// ten to a hundred times more than any other event. Served in epoll order, a burst of new
// connections made every request that arrived just behind it wait for all of their handshakes:
// that was certpilot's p99 under full-handshake load (bench/README.md, tls.sh). So a batch serves
// everything else first, then at most this many new handshakes; the others stay readable
// (level-triggered) and the next epoll_wait, which does not block while any wait, reports them
// again behind whatever arrived meanwhile. Four keeps the extra epoll_wait calls under a few per
// cent of the handshake work.
inline constexpr std::size_t kNewHandshakesPerWake = 4;

// Calls serve(i) for each event i of a batch of n: first every event for which is_new_handshake(i)
// is false, in epoll order, then the first `budget` new handshakes, in epoll order. `held` is
// scratch space (kept by the caller to avoid an allocation per wake). Returns true when new
// handshakes were left for the next wake.
template <class IsNewHandshake, class Serve>
bool serve_batch(std::size_t n, std::size_t budget, IsNewHandshake is_new_handshake, Serve serve,
                 std::vector<std::size_t>& held) {
  held.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (is_new_handshake(i)) {
      held.push_back(i);
    } else {
      serve(i);
    }
  }
  const std::size_t now = held.size() < budget ? held.size() : budget;
  for (std::size_t k = 0; k < now; ++k) {
    serve(held[k]);
  }
  return held.size() > now;
}

}  // namespace certpilot::tls::detail
