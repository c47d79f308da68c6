#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "fixtures.hpp"
#include "tls_client.hpp"

using namespace certpilot;
using namespace certpilot::tls;
using namespace certpilot::tls::test;

namespace {

std::string serial_of(const CertMaterial& m) {
  auto e = CertEntry::create(m, std::chrono::system_clock::now());
  REQUIRE(e.has_value());
  return (*e)->info().serial_hex;
}

}  // namespace

TEST_CASE("listener serves the chain in order and selects by SNI", "[tls]") {
  Pki pki;
  SniOptions sni;
  sni.default_name = "default.test";
  Server server({}, {}, sni);
  const auto exact = pki.issue({"www.example.test"});
  const auto wild = pki.issue({"*.example.test"});
  const auto def = pki.issue({"default.test"});
  server.put("exact", exact);
  server.put("wild", wild);
  server.put("default", def);

  ClientOptions o;
  o.ca_pem = pki.root.cert_pem();
  o.sni = "www.example.test";
  TlsConn c1(server.port(), o);
  REQUIRE(c1.ok());
  CHECK(c1.leaf_serial() == serial_of(exact));
  CHECK(c1.chain_subjects() == std::vector<std::string>{"www.example.test", "Test Intermediate"});

  o.sni = "api.example.test";
  TlsConn c2(server.port(), o);
  REQUIRE(c2.ok());
  CHECK(c2.leaf_serial() == serial_of(wild));

  o.sni = "unknown.test";
  o.ca_pem.clear();
  TlsConn c3(server.port(), o);
  REQUIRE(c3.ok());
  CHECK(c3.leaf_serial() == serial_of(def));

  o.sni.clear();
  TlsConn c4(server.port(), o);
  REQUIRE(c4.ok());
  CHECK(c4.leaf_serial() == serial_of(def));

  const std::string page = c1.get();
  CHECK(page_field(page, "serial") == serial_of(exact));
  CHECK(page_field(page, "names") == "www.example.test");
  CHECK(page_field(page, "sni") == "www.example.test");
}

TEST_CASE("an unknown name is refused when no default is configured", "[tls]") {
  Pki pki;
  Server server;
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "b.test";
  TlsConn c(server.port(), o);
  CHECK_FALSE(c.ok());
  CHECK_THAT(c.error(), Catch::Contains("unrecognized name"));
  o.sni = "a.test";
  TlsConn ok(server.port(), o);
  CHECK(ok.ok());
}

TEST_CASE("ECDSA goes to clients that offer it, RSA to the others", "[tls]") {
  Pki pki;
  Server server;
  const auto ec = pki.issue({"dual.test"}, crypto::KeyType::ec_p256);
  const auto rsa = pki.issue({"dual.test"}, crypto::KeyType::rsa2048);
  server.put("ec", ec);
  server.put("rsa", rsa);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    ClientOptions o;
    o.sni = "dual.test";
    o.max_version = version;
    TlsConn both(server.port(), o);
    REQUIRE(both.ok());
    CHECK(both.key_type() == "ecdsa");
    CHECK(page_field(both.get(), "serial") == serial_of(ec));
    o.sigalgs = "rsa_pss_rsae_sha256:rsa_pkcs1_sha256";
    TlsConn rsa_only(server.port(), o);
    REQUIRE(rsa_only.ok());
    CHECK(rsa_only.key_type() == "rsa");
    CHECK(page_field(rsa_only.get(), "serial") == serial_of(rsa));
  }
}

TEST_CASE("only TLS 1.2 and 1.3, and ALPN is negotiated", "[tls]") {
  Pki pki;
  Server server;
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  o.max_version = TLS1_1_VERSION;
  TlsConn old(server.port(), o);
  CHECK_FALSE(old.ok());
  o.max_version = TLS1_3_VERSION;
  o.alpn = {"http/1.1", "h2"};
  TlsConn c(server.port(), o);
  REQUIRE(c.ok());
  CHECK(c.alpn() == "h2");  // our preference wins among the client's
  o.alpn = {"imap"};
  TlsConn none(server.port(), o);
  REQUIRE(none.ok());
  CHECK(none.alpn().empty());
}

TEST_CASE("a bad certificate is refused and the old one is still served", "[tls]") {
  Pki pki;
  Server server;
  const auto good = pki.issue({"a.test"});
  server.put("a", good);
  auto bad = pki.issue({"a.test"});
  bad.key_pem = pki.issue({"a.test"}).key_pem;
  bad.key_source = "/store/a/key.pem";
  auto r = server.registry->put("a", bad, std::chrono::system_clock::now());
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::StartsWith("/store/a/key.pem: the key does not match"));
  ClientOptions o;
  o.sni = "a.test";
  TlsConn c(server.port(), o);
  REQUIRE(c.ok());
  CHECK(c.leaf_serial() == serial_of(good));
}

TEST_CASE("hot swap under load: no failed handshake, the new serial after each swap", "[tls][swap]") {
  Pki pki;
  Server server;
  std::vector<CertMaterial> versions;
  for (int i = 0; i < 101; ++i) {
    versions.push_back(pki.issue({"swap.test"}));
  }
  server.put("swap", versions[0]);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> handshakes{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      ClientOptions o;
      o.sni = "swap.test";
      o.no_tickets = true;
      while (!stop.load()) {
        TlsConn c(server.port(), o);
        (c.ok() ? handshakes : failures).fetch_add(1);
      }
    });
  }
  // A long-lived connection keeps exchanging data across all swaps.
  ClientOptions lo;
  lo.sni = "swap.test";
  TlsConn long_lived(server.port(), lo);
  REQUIRE(long_lived.ok());
  const std::string first_serial = long_lived.leaf_serial();
  int long_lived_ok = 0;
  for (int i = 1; i <= 100; ++i) {
    server.put("swap", versions[static_cast<std::size_t>(i)]);
    ClientOptions o;
    o.sni = "swap.test";
    TlsConn probe(server.port(), o);
    REQUIRE(probe.ok());
    CHECK(probe.leaf_serial() == serial_of(versions[static_cast<std::size_t>(i)]));
    const std::string page = long_lived.get();
    long_lived_ok += page_field(page, "serial") == first_serial ? 1 : 0;
  }
  stop.store(true);
  for (auto& t : clients) {
    t.join();
  }
  CHECK(failures.load() == 0);
  CHECK(handshakes.load() > 0);
  CHECK(long_lived_ok == 100);
  CHECK(server.listener->stats().handshake_failures == 0);
}

TEST_CASE("sessions resume by ticket and by cache, also across a certificate swap", "[tls]") {
  Pki pki;
  for (bool tickets : {true, false}) {
    TlsSettings settings;
    settings.session_tickets = tickets;
    Server server({}, settings);
    server.put("a", pki.issue({"a.test"}));
    ClientOptions o;
    o.sni = "a.test";
    o.no_tickets = !tickets;
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      o.max_version = version;
      o.resume = nullptr;
      TlsConn first(server.port(), o);
      REQUIRE(first.ok());
      first.get();  // TLS 1.3 tickets arrive after the handshake
      auto session = first.session();
      REQUIRE(session);
      server.put("a", pki.issue({"a.test"}));
      o.resume = session.get();
      TlsConn second(server.port(), o);
      REQUIRE(second.ok());
      CHECK(second.resumed());
      CHECK_FALSE(second.get().empty());
      if (tickets) {
        server.listener->rotate_ticket_keys();  // the previous key still decrypts
        auto fresh = second.session();  // OpenSSL clients use a TLS 1.3 ticket once
        o.resume = version == TLS1_3_VERSION ? fresh.get() : session.get();
        TlsConn third(server.port(), o);
        REQUIRE(third.ok());
        INFO("version " << version);
        CHECK(third.resumed());
        CHECK(page_field(third.get(), "resumed") == "yes");
      }
    }
    CHECK(server.listener->stats().resumed >= 2);
  }
}

TEST_CASE("garbage, silence and abandoned handshakes end only their own connection", "[tls]") {
  Pki pki;
  ListenerOptions lo;
  lo.handshake_timeout = std::chrono::milliseconds(300);
  lo.threads = 1;
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  const int garbage = tcp_connect(server.port());
  const std::string junk = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  REQUIRE(::write(garbage, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
  std::vector<int> silent;
  for (int i = 0; i < 50; ++i) {
    silent.push_back(tcp_connect(server.port()));
  }
  const int half = tcp_connect(server.port());
  const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
  REQUIRE(::write(half, partial_hello, sizeof partial_hello) == sizeof partial_hello);
  ClientOptions o;
  o.sni = "a.test";
  TlsConn good(server.port(), o);  // served while the others hang around
  REQUIRE(good.ok());
  char buf[64];
  const ssize_t got = ::read(garbage, buf, sizeof buf);  // an alert, EOF or reset, not a hang
  CHECK((got >= 0 || errno == ECONNRESET));
  CHECK(::read(half, buf, sizeof buf) == 0);     // closed by the handshake timeout
  CHECK(::read(silent.front(), buf, sizeof buf) == 0);
  for (int fd : silent) {
    ::close(fd);
  }
  ::close(garbage);
  ::close(half);
  CHECK(server.listener->stats().handshake_failures >= 52);
  TlsConn after(server.port(), o);
  CHECK(after.ok());
}

TEST_CASE("the connection limit refuses connections beyond it", "[tls]") {
  Pki pki;
  ListenerOptions lo;
  lo.max_connections = 2;
  lo.threads = 1;
  Server server(lo);
  server.put("a", pki.issue({"a.test"}));
  ClientOptions o;
  o.sni = "a.test";
  TlsConn a(server.port(), o);
  TlsConn b(server.port(), o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  TlsConn c(server.port(), o);
  CHECK_FALSE(c.ok());
  CHECK(server.listener->stats().rejected == 1);
}

TEST_CASE("a port another program listens on is refused, even one that allows SO_REUSEPORT", "[tls]") {
  // Another certpilot would set SO_REUSEPORT: without the check the kernel would let us join its
  // port and split the connections between the two.
  const int other = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(other >= 0);
  const int one = 1;
  ::setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(other, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(other, 16) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(other, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string spec = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TlsSettings settings;
  CertPublisher publisher;
  ListenerOptions lo;
  lo.listen = {spec};
  lo.threads = 2;
  auto l = Listener::create(lo, settings, publisher);
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().code == util::Errc::invalid_input);
  CHECK_THAT(l.error().message, Catch::Contains(spec) && Catch::Contains("another program listens there"));
  ::close(other);
  // Free again: the same port is taken.
  lo.threads = 1;
  auto again = Listener::create(lo, settings, publisher);
  CHECK(again.has_value());
}
