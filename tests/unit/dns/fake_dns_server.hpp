#pragma once
// A scripted DNS server on 127.0.0.1 (UDP, a free port) for unit tests of the code that asks
// real resolvers through c-ares (zone, CAA, propagation): each query goes to a handler that
// returns the answer, or nothing to stay silent (a timeout for the client). Test code only;
// header-only so that unit_dns and unit_agent can both use it ("unit/dns/fake_dns_server.hpp").
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dns/resolver.hpp"
#include "dns/wire/message.hpp"

namespace certpilot::test {

class FakeDnsServer {
 public:
  using Handler = std::function<std::optional<dns::wire::Message>(const dns::wire::Question& q)>;
  // Starts answering at once; throws std::runtime_error when no socket can be bound.
  explicit FakeDnsServer(Handler handler);
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // "name TYPE" of every query received so far, in order.
  std::vector<std::string> queries() const;
  std::size_t count(const std::string& name, std::uint16_t qtype) const;

 private:
  void serve();
  Handler handler_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> queries_;  // guarded by mu_
  std::thread thread_;
};

inline FakeDnsServer::FakeDnsServer(Handler handler) : handler_(std::move(handler)) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("fake DNS server: cannot bind a UDP socket on 127.0.0.1");
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { serve(); });
}

inline FakeDnsServer::~FakeDnsServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

inline void FakeDnsServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    auto query = dns::wire::decode(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!query || query->questions.empty()) continue;
    const auto& q = query->questions.front();
    {
      std::lock_guard lock(mu_);
      queries_.push_back(dns::wire::canonical_name(q.name) + " " + dns::wire::type_name(q.type));
    }
    auto reply = handler_(q);
    if (!reply) continue;
    reply->header.id = query->header.id;
    reply->header.rd = query->header.rd;
    if (auto bytes = dns::wire::encode(*reply)) {
      (void)::sendto(fd_, bytes->data(), bytes->size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }
}

inline std::vector<std::string> FakeDnsServer::queries() const {
  std::lock_guard lock(mu_);
  return queries_;
}

inline std::size_t FakeDnsServer::count(const std::string& name, std::uint16_t qtype) const {
  const std::string key = name + " " + dns::wire::type_name(qtype);
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& q : queries_) n += q == key ? 1 : 0;
  return n;
}

// An answer to q with rcode and records (aa set: "authoritative").
inline dns::wire::Message answer(const dns::wire::Question& q, std::uint8_t rcode = 0,
                                 std::vector<dns::wire::ResourceRecord> records = {}) {
  dns::wire::Message m;
  m.header.qr = true;
  m.header.aa = true;
  m.header.ra = true;
  m.header.rcode = rcode;
  m.questions.push_back(q);
  m.answers = std::move(records);
  return m;
}

namespace fake_dns_detail {
inline dns::wire::ResourceRecord rr(const std::string& name, std::uint16_t type, std::string rdata) {
  dns::wire::ResourceRecord r;
  r.name = name;
  r.type = type;
  r.ttl = 60;
  r.rdata = std::move(rdata);
  return r;
}
}  // namespace fake_dns_detail

inline dns::wire::ResourceRecord rr_a(const std::string& name, const std::string& ipv4) {
  in_addr a{};
  if (::inet_pton(AF_INET, ipv4.c_str(), &a) != 1) throw std::runtime_error("rr_a: bad address " + ipv4);
  return fake_dns_detail::rr(name, dns::wire::type::kA, std::string(reinterpret_cast<const char*>(&a), 4));
}

inline dns::wire::ResourceRecord rr_ns(const std::string& name, const std::string& target) {
  auto encoded = dns::wire::encode_name(target);
  if (!encoded) throw std::runtime_error("rr_ns: bad name " + target);
  return fake_dns_detail::rr(name, dns::wire::type::kNs, *encoded);
}

inline dns::wire::ResourceRecord rr_txt(const std::string& name, const std::string& value) {
  return fake_dns_detail::rr(name, dns::wire::type::kTxt, dns::wire::make_txt_rdata(value));
}

inline dns::wire::ResourceRecord rr_caa(const std::string& name, const std::string& tag, const std::string& value,
                            std::uint8_t flags = 0) {
  return fake_dns_detail::rr(name, dns::wire::type::kCaa, dns::wire::make_caa_rdata({flags, tag, value}));
}

inline dns::wire::ResourceRecord rr_soa(const std::string& zone, const std::string& mname) {
  auto m = dns::wire::encode_name(mname);
  auto r = dns::wire::encode_name("hostmaster." + zone);
  if (!m || !r) throw std::runtime_error("rr_soa: bad name " + mname);
  std::string rdata = *m + *r;
  for (std::uint32_t v : {1u, 60u, 60u, 600u, 0u}) {
    for (int shift = 24; shift >= 0; shift -= 8) rdata.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return fake_dns_detail::rr(zone, dns::wire::type::kSoa, rdata);
}

// A c-ares resolver that asks this server only: `tries` 1 with a short timeout for tests that want
// silence to fail fast.
inline std::unique_ptr<dns::Resolver> resolver_for(const FakeDnsServer& server, std::chrono::milliseconds timeout,
                                                   int tries) {
  auto r = dns::Resolver::create({{server.server()}, timeout, tries, true, false});
  if (!r) throw std::runtime_error("fake DNS server: no resolver: " + r.error().message);
  return std::move(*r);
}

}  // namespace certpilot::test
