#pragma once
// The one place the event loops read certificates from. A reload publishes a new immutable set in
// one atomic step; a handshake takes one snapshot and uses it throughout, and SSL_set_SSL_CTX
// gives each connection its own reference to its context, so sets swapped out while connections
// still use them stay alive exactly as long as needed.
#include <atomic>
#include <cstdint>
#include <memory>

#include "tls/cert_set.hpp"

namespace certpilot::tls {

class CertPublisher {
 public:
  // Thread-safe; never blocks readers for longer than a reference-count update.
  void publish(CertSetPtr next) {
    current_.store(std::move(next));
    generation_.fetch_add(1, std::memory_order_release);
  }
  CertSetPtr snapshot() const { return current_.load(); }
  // Bumped by every publish (tests and logs).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<CertSetPtr> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace certpilot::tls
