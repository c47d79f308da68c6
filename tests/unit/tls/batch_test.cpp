#include "tls/detail/batch.hpp"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "fixtures.hpp"
#include "tls_client.hpp"

using namespace certpilot;
using namespace certpilot::tls;
using namespace certpilot::tls::test;

namespace {

// Serves a batch whose new handshakes are marked 'h'; returns the order and whether any were left.
std::pair<std::vector<std::size_t>, bool> plan(const std::string& batch, std::size_t budget) {
  std::vector<std::size_t> order;
  std::vector<std::size_t> held{99};  // stale scratch content must not leak into the result
  const bool left = detail::serve_batch(
      batch.size(), budget, [&](std::size_t i) { return batch[i] == 'h'; },
      [&](std::size_t i) { order.push_back(i); }, held);
  return {order, left};
}

// A client handshake stopped after its ClientHello went out: the socket is readable on the server.
struct HalfOpen {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  int fd = -1;
  bool done = false;

  explicit HalfOpen(std::uint16_t port) {
    fd = tcp_connect(port);
    REQUIRE(fd >= 0);
    ssl = SSL_new(ctx);
    SSL_set_tlsext_host_name(ssl, "a.test");
    SSL_set_fd(ssl, fd);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    // ClientHello sent. Usually the answer is not there yet; when the loop was quicker than this
    // thread, the handshake is simply complete already.
    const int r = SSL_connect(ssl);
    done = r == 1;
    REQUIRE((done || SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // blocking, with tcp_connect's timeouts
  }
  ~HalfOpen() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }
  HalfOpen(const HalfOpen&) = delete;
  HalfOpen& operator=(const HalfOpen&) = delete;

  bool finish() { return done || SSL_connect(ssl) == 1; }
  std::string get() {
    const std::string req = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
    if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) <= 0) {
      return {};
    }
    std::string out;
    char buf[4096];
    int n = 0;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a batch serves everything else before new handshakes, and at most budget of those", "[tls]") {
  // r: a request or any other event, h: a ClientHello to answer.
  auto [order, left] = plan("hrhhrhr", 2);
  CHECK(order == std::vector<std::size_t>{1, 4, 6, 0, 2});
  CHECK(left);

  std::tie(order, left) = plan("hrh", 2);
  CHECK(order == std::vector<std::size_t>{1, 0, 2});
  CHECK_FALSE(left);

  std::tie(order, left) = plan("rr", detail::kNewHandshakesPerWake);
  CHECK(order == std::vector<std::size_t>{0, 1});
  CHECK_FALSE(left);

  std::tie(order, left) = plan("", 4);
  CHECK(order.empty());
  CHECK_FALSE(left);

  std::tie(order, left) = plan("hh", 0);
  CHECK(order.empty());
  CHECK(left);
}

TEST_CASE("more ClientHellos than one wake answers are all answered, and open connections are served meanwhile",
          "[tls]") {
  Pki pki;
  ListenerOptions lo;
  lo.threads = 1;
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  TlsConn open(server.port(), o);
  REQUIRE(open.ok());

  constexpr std::size_t kWaiting = 4 * detail::kNewHandshakesPerWake + 3;
  std::vector<std::unique_ptr<HalfOpen>> waiting;
  for (std::size_t i = 0; i < kWaiting; ++i) {
    waiting.push_back(std::make_unique<HalfOpen>(server.port()));
  }
  CHECK(page_field(open.get("a.test"), "sni") == "a.test");
  for (auto& h : waiting) {
    REQUIRE(h->finish());
    CHECK(page_field(h->get(), "sni") == "a.test");
  }
  CHECK(server.listener->stats().handshakes == kWaiting + 1);
  CHECK(server.listener->stats().handshake_failures == 0);
}

TEST_CASE("a ClientHello that arrives after the accept is answered", "[tls]") {
  Pki pki;
  ListenerOptions lo;
  lo.threads = 1;
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  const int fd = tcp_connect(server.port());
  REQUIRE(fd >= 0);
  // Wait (bounded) until the loop has accepted it, so the ClientHello comes later.
  for (int i = 0; i < 5000 && server.listener->stats().accepted == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(server.listener->stats().accepted == 1);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_tlsext_host_name(ssl, "a.test");
  SSL_set_fd(ssl, fd);
  CHECK(SSL_connect(ssl) == 1);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
}
