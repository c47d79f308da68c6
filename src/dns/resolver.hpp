#pragma once
// c-ares behind one RAII class. Queries are encoded and decoded by dns/wire and sent with
// ares_send, so every record type (TXT, CAA, SOA, NS, CNAME, A, AAAA) is read the same way; c-ares
// does the transport: retries, timeouts, and the TCP retry when a UDP answer is truncated
// (RFC 7766 §5). ARES_FLAG_NOCHECKRESP hands us SERVFAIL/REFUSED answers instead of hiding them,
// so errors can say what each server answered.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/wire/message.hpp"
#include "util/result.hpp"

namespace certpilot::dns {

using util::Result;

struct ResolverOptions {
  // "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53" (addresses only: a resolver cannot be
  // found by name; checked by normalize_resolvers). Empty: the system's resolvers from
  // /etc/resolv.conf, which only a caller that was given no resolvers may ask for.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{3000};  // per try
  int tries = 2;
  bool recursion_desired = true;  // false for questions to an authoritative server (RD clear)
  bool use_tcp = false;           // TCP from the start (UDP falls back to TCP on TC anyway)
};

// Owns one ares_channel. Not thread-safe: one Resolver per thread; query_all drives several
// Resolvers (one per server) at once from the calling thread.
class Resolver {
 public:
  static Result<std::unique_ptr<Resolver>> create(ResolverOptions options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Any answer is a success, whatever its rcode (NXDOMAIN, REFUSED, ...): the caller judges it.
  // Errors are transport failures naming the servers: no answer in time or a refused connection
  // (Errc::network), a malformed answer (Errc::dns), cancellation (Errc::cancelled).
  Result<wire::Message> query(const std::string& name, std::uint16_t qtype);

  struct Job {
    Resolver* resolver;
    std::string name;
    std::uint16_t qtype;
  };
  // Sends every job at once and waits for all of them; results in job order.
  static std::vector<Result<wire::Message>> query_all(const std::vector<Job>& jobs);

  // "127.0.0.1:5300" or "system resolvers": for error messages.
  const std::string& description() const { return description_; }
  // True when no servers were given: the questions go to /etc/resolv.conf's.
  bool asks_system_resolvers() const;

 private:
  struct Impl;
  explicit Resolver(std::unique_ptr<Impl> impl, std::string description);
  std::unique_ptr<Impl> impl_;
  std::string description_;
};
using ResolverPtr = std::unique_ptr<Resolver>;

// "host:port" text for an address and port ("[::1]:53" for IPv6).
std::string address_with_port(const std::string& address, std::uint16_t port);

// The c-ares library loaded at run time, e.g. "1.18.1".
std::string cares_version();

}  // namespace certpilot::dns
