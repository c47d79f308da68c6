#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "fixtures.hpp"
#include "tls/detail/net.hpp"
#include "tls_client.hpp"

using namespace certpilot;
using namespace certpilot::tls;
using namespace certpilot::tls::test;

namespace {

// Echoes every byte; when the client half-closes, answers "bye" and closes. Records a PROXY v2
// header if one arrives first. One connection at a time.
class EchoBackend {
 public:
  explicit EchoBackend(bool expect_proxy) : expect_proxy_(expect_proxy) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoBackend() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string proxy_header() {
    std::lock_guard lock(mu_);
    return header_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      std::string pending;
      bool header_done = !expect_proxy_;
      char buf[4096];
      while (true) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        pending.append(buf, static_cast<std::size_t>(n));
        if (!header_done && pending.size() >= 16) {
          const std::size_t total = 16 + ((static_cast<unsigned char>(pending[14]) << 8) | static_cast<unsigned char>(pending[15]));
          if (pending.size() < total) {
            continue;
          }
          std::lock_guard lock(mu_);
          header_ = pending.substr(0, total);
          pending.erase(0, total);
          header_done = true;
        }
        if (header_done && !pending.empty()) {
          REQUIRE(::write(c, pending.data(), pending.size()) == static_cast<ssize_t>(pending.size()));
          pending.clear();
        }
      }
      REQUIRE(::write(c, "bye", 3) == 3);
      ::close(c);
    }
  }

  bool expect_proxy_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string header_;  // guarded by mu_
};

std::string read_until_eof(TlsConn& c) {
  std::string all;
  for (std::string s = c.read_some(); !s.empty(); s = c.read_some()) {
    all += s;
  }
  return all;
}

}  // namespace

TEST_CASE("the proxy forwards both ways and passes half-close on", "[tls][proxy]") {
  Pki pki;
  EchoBackend backend(false);
  ListenerOptions lo;
  lo.backend = "127.0.0.1:" + std::to_string(backend.port());
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  TlsConn c(server.port(), o);
  REQUIRE(c.ok());
  const std::string big(100000, 'x');  // larger than one buffer: exercises back-pressure
  REQUIRE(c.write_all("hello"));
  CHECK(c.read_some() == "hello");
  REQUIRE(c.write_all(big));
  std::string echoed;
  while (echoed.size() < big.size()) {
    const std::string s = c.read_some();
    REQUIRE_FALSE(s.empty());
    echoed += s;
  }
  CHECK(echoed == big);
  c.shutdown_write();  // close_notify -> FIN to the backend, which answers and closes
  CHECK(read_until_eof(c) == "bye");
}

TEST_CASE("the proxy sends PROXY protocol v2 with the client address", "[tls][proxy]") {
  Pki pki;
  EchoBackend backend(true);
  ListenerOptions lo;
  lo.backend = "127.0.0.1:" + std::to_string(backend.port());
  lo.proxy_protocol = true;
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  o.alpn = {"http/1.1"};
  TlsConn c(server.port(), o);
  REQUIRE(c.ok());
  REQUIRE(c.write_all("ping"));
  CHECK(c.read_some() == "ping");
  const std::string h = backend.proxy_header();
  REQUIRE(h.size() >= 28);
  CHECK(h.substr(0, 12) == std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  CHECK(static_cast<unsigned char>(h[12]) == 0x21);
  CHECK(static_cast<unsigned char>(h[13]) == 0x11);
  const int src_port = (static_cast<unsigned char>(h[24]) << 8) | static_cast<unsigned char>(h[25]);
  const int dst_port = (static_cast<unsigned char>(h[26]) << 8) | static_cast<unsigned char>(h[27]);
  CHECK(src_port == c.local_port());
  CHECK(dst_port == server.port());
  CHECK(h.find(std::string("\x01\x00\x08http/1.1", 11)) != std::string::npos);
  CHECK(h.find(std::string("\x02\x00\x06" "a.test", 9)) != std::string::npos);
}

TEST_CASE("a backend that is down ends only that connection", "[tls][proxy]") {
  Pki pki;
  std::uint16_t dead_port = 0;
  {
    EchoBackend gone(false);
    dead_port = gone.port();
  }
  ListenerOptions lo;
  lo.backend = "127.0.0.1:" + std::to_string(dead_port);
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  TlsConn c(server.port(), o);
  REQUIRE(c.ok());
  CHECK(c.read_some().empty());
  CHECK(server.listener->stats().backend_failures == 1);
  TlsConn again(server.port(), o);
  CHECK(again.ok());
}

TEST_CASE("PROXY v2 header for IPv6 and LOCAL", "[tls][proxy]") {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(1234);
  a.sin6_addr = in6addr_loopback;
  sockaddr_in6 b = a;
  b.sin6_port = htons(443);
  const std::string h6 = detail::proxy_v2_header(reinterpret_cast<sockaddr*>(&a), reinterpret_cast<sockaddr*>(&b), "", "");
  REQUIRE(h6.size() == 16 + 36);
  CHECK(static_cast<unsigned char>(h6[13]) == 0x21);
  CHECK(h6[15] == 36);
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  const std::string mixed = detail::proxy_v2_header(reinterpret_cast<sockaddr*>(&a), reinterpret_cast<sockaddr*>(&v4), "h2", "x");
  REQUIRE(mixed.size() == 16);
  CHECK(static_cast<unsigned char>(mixed[12]) == 0x20);  // LOCAL: addresses unknown
}
