#pragma once
// The embedded TLS listener: one epoll event loop per thread, each with its own SO_REUSEPORT
// listening socket per address, non-blocking OpenSSL. It either proxies bytes to a backend (with
// optional PROXY protocol v2) or answers HTTP itself with a page naming the certificate served.
// Certificates come only from the CertPublisher snapshot taken in the SNI callback: nothing on the
// handshake path reads a file or takes a lock held by the renewal side.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/ossl.hpp"
#include "tls/publisher.hpp"
#include "tls/settings.hpp"
#include "util/result.hpp"

namespace certpilot::tls {

namespace detail {
struct Shared;
class Worker;
}  // namespace detail

struct ListenerOptions {
  // "host:port", "[v6]:port"; host may be a name (resolved once, at create()). Port 0 picks one.
  std::vector<std::string> listen = {"127.0.0.1:8443"};
  int threads = 0;  // 0: one per core
  std::size_t max_connections = 100000;  // over all threads; more are accepted and closed at once
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
  // Without TLS (local development only: the caller decides whether to allow public addresses).
  bool plaintext = false;
  // "host:port" of the backend; empty: the built-in responder answers HTTP/1.1 itself.
  std::string backend;
  // Sends a PROXY protocol v2 header (client and local address, ALPN, SNI) before any client data.
  bool proxy_protocol = false;
  std::size_t buffer_size = 16384;  // per direction, allocated only while data waits in it
};

struct ListenerStats {
  std::uint64_t accepted = 0;
  std::uint64_t handshakes = 0;         // completed
  std::uint64_t resumed = 0;            // of which resumed sessions
  std::uint64_t handshake_failures = 0; // includes timeouts and garbage
  std::uint64_t rejected = 0;           // over max_connections
  std::uint64_t backend_failures = 0;
  std::uint64_t active = 0;
};

class Listener {
 public:
  // Binds and listens on every address (so a busy port is reported here, with its address), and
  // builds the front context. `publisher` must outlive the listener; with TLS it must hold a set
  // before the first client arrives (a handshake without a set gets an unrecognized_name alert).
  static Result<std::unique_ptr<Listener>> create(ListenerOptions options, const TlsSettings& settings,
                                                   const CertPublisher& publisher);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Starts the event loops. Stop with stop() (or the destructor): open connections are closed.
  void start();
  void stop();
  // The bound ports, in the order of options.listen (useful with port 0).
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  ListenerStats stats() const;
  // Rotates the session-ticket key now (also done by the loops every settings.ticket_key_rotation).
  void rotate_ticket_keys();

 private:
  Listener() = default;
  std::unique_ptr<detail::Shared> shared_;  // what every loop reads: options, contexts, counters
  std::vector<std::unique_ptr<detail::Worker>> workers_;
  std::vector<std::thread> threads_;
  std::vector<std::uint16_t> ports_;
  bool started_ = false;
};

// True when every address "host:port" resolves to is loopback (127.0.0.0/8, ::1).
Result<bool> is_loopback_address(std::string_view host_port);

}  // namespace certpilot::tls
