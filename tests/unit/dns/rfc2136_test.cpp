// dns/rfc2136 without BIND: key files of several keys, and how the answers of a fake server on
// loopback (BADTIME, BADKEY, silence, a primary without an address) become errors. The real BIND
// runs in tests/integration/dns_rfc2136_test.cpp; it cannot be made to misbehave like these.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <optional>
#include <thread>

#include "dns/rfc2136/rfc2136_provider.hpp"
#include "dns/wire/message.hpp"
#include "fake_secrets.hpp"

using namespace certpilot;
using util::Errc;
namespace wire = dns::wire;

namespace {

const std::string kSecretA = "c2VjcmV0LWEtc2VjcmV0LWEtc2VjcmV0LWE=";
const std::string kSecretB = "c2VjcmV0LWItc2VjcmV0LWItc2VjcmV0LWI=";
const std::string kTwoKeys = "key \"key-a\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + kSecretA +
                             "\";\n};\nkey \"Key-B.\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + kSecretB + "\";\n};\n";

// A UDP DNS server on 127.0.0.1 (port 0) in a thread: decodes each request and sends what the
// handler returns (id and QR set here); nullopt = stay silent.
class FakeDns {
 public:
  using Handler = std::function<std::optional<wire::Message>(const wire::Message&)>;
  explicit FakeDns(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

 private:
  void serve() {
    std::string buf(65535, '\0');
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      auto request = wire::decode(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      if (!request) continue;
      auto answer = handler_(*request);
      if (!answer) continue;
      answer->header.id = request->header.id;
      answer->header.qr = true;
      answer->header.opcode = request->header.opcode;
      answer->questions = request->questions;
      auto bytes = wire::encode(*answer);
      if (bytes) ::sendto(fd_, bytes->data(), bytes->size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  Handler handler_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void put16(std::string& out, std::uint64_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}
void put48(std::string& out, std::uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// The unsigned answer of a server that could not verify the request (RFC 8945 §5.2): NOTAUTH and
// a TSIG record with the error, and for BADTIME its own clock in Other Data (§5.2.3).
wire::Message tsig_error_answer(const wire::Message& request, std::uint16_t error, std::optional<std::uint64_t> server_time) {
  const auto& tsig = request.additional.back();
  const auto t = wire::parse_tsig_rdata(tsig.rdata).value();
  std::string rdata = wire::encode_name(t.algorithm).value();
  put48(rdata, t.time_signed);  // the request's
  put16(rdata, t.fudge);
  put16(rdata, 0);  // no MAC
  put16(rdata, request.header.id);
  put16(rdata, error);
  if (server_time) {
    put16(rdata, 6);
    put48(rdata, *server_time);
  } else {
    put16(rdata, 0);
  }
  wire::Message m;
  m.header.rcode = wire::rcode::kNotAuth;
  m.additional.push_back({tsig.name, wire::type::kTsig, wire::klass::kAny, 0, rdata, 0});
  return m;
}

std::uint64_t request_time(const wire::Message& request) {
  return wire::parse_tsig_rdata(request.additional.back().rdata).value().time_signed;
}

dns::Rfc2136Config config_for(const std::string& server) {
  dns::Rfc2136Config c;
  c.server = server;
  c.key_name = "key-a";
  c.secret = util::SecretString(kSecretA);
  c.timeout = std::chrono::seconds(1);
  return c;
}

std::unique_ptr<dns::Rfc2136Provider> provider(dns::Rfc2136Config c) {
  auto p = dns::Rfc2136Provider::create(std::move(c));
  REQUIRE(p);
  return std::move(*p);
}

const dns::TxtRecord kRec{"a.test", "_acme-challenge.a.test", "value-1", std::chrono::seconds(60)};

}  // namespace

TEST_CASE("rfc2136 key files: every clause is read, each with its own secret and algorithm", "[dns]") {
  const auto keys = dns::parse_bind_keys(kTwoKeys);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].name == "key-a");
  CHECK(keys[0].algorithm == "hmac-sha256");
  CHECK(keys[0].secret.reveal() == kSecretA);
  CHECK(keys[1].name == "Key-B.");
  CHECK(keys[1].algorithm == "hmac-sha512");
  CHECK(keys[1].secret.reveal() == kSecretB);
  CHECK(dns::parse_bind_key(kTwoKeys)->name == "key-a");
  CHECK(dns::parse_bind_keys("c2VjcmV0").empty());
  CHECK(dns::parse_bind_keys("key \"x\" { algorithm hmac-sha256; };").empty());
  // CRLF line ends, as a file edited on Windows has.
  const auto crlf = dns::parse_bind_keys("key \"k\" {\r\n\talgorithm hmac-sha1;\r\n\tsecret \"" + kSecretA + "\";\r\n};\r\n");
  REQUIRE(crlf.size() == 1);
  CHECK(crlf[0].algorithm == "hmac-sha1");
}

TEST_CASE("rfc2136 key files: tsig-key-name picks the clause, case-insensitive, trailing dot ignored", "[dns]") {
  const auto read = test::fake_secrets({{"/k.conf", kTwoKeys}});
  const auto keys = dns::parse_bind_keys(kTwoKeys);
  for (const char* name : {"key-b", "KEY-B", "key-b.", "Key-B."}) {
    INFO(name);
    auto k = dns::select_bind_key(keys, name, "tsig-secret-file /k.conf");
    REQUIRE(k);
    CHECK(k->secret.reveal() == kSecretB);
    CHECK(k->algorithm == "hmac-sha512");
    CHECK(dns::make_rfc2136_provider({{"server", "127.0.0.1"}, {"tsig-key-name", name}, {"tsig-secret-file", "/k.conf"}}, read));
  }
  CHECK(dns::select_bind_key(keys, "key-a", "f").value().secret.reveal() == kSecretA);

  auto several = dns::make_rfc2136_provider({{"server", "127.0.0.1"}, {"tsig-secret-file", "/k.conf"}}, read);
  REQUIRE_FALSE(several);
  CHECK(several.error().code == Errc::invalid_input);
  CHECK(several.error().message == "rfc2136: tsig-secret-file /k.conf holds 2 keys (\"key-a\", \"Key-B.\"); "
                                   "choose one with --dns-opt tsig-key-name=NAME");

  auto absent = dns::make_rfc2136_provider({{"server", "127.0.0.1"}, {"tsig-key-name", "key-c"}, {"tsig-secret-file", "/k.conf"}}, read);
  REQUIRE_FALSE(absent);
  CHECK(absent.error().code == Errc::invalid_input);
  CHECK(absent.error().message == "rfc2136: tsig-key-name \"key-c\" is not in tsig-secret-file /k.conf, which holds "
                                  "\"key-a\", \"Key-B.\"; fix tsig-key-name or give the file that holds that key");
  for (const auto& e : {several.error(), absent.error()}) {
    CHECK(e.message.find(kSecretA) == std::string::npos);
    CHECK(e.message.find(kSecretB) == std::string::npos);
  }
  // One key and no tsig-key-name: that key, as before.
  const auto one = test::fake_secrets({{"/one.conf", "key \"solo\" { algorithm hmac-sha512; secret \"" + kSecretB + "\"; };"}});
  CHECK(dns::make_rfc2136_provider({{"server", "127.0.0.1"}, {"tsig-secret-file", "/one.conf"}}, one));
  auto other = dns::make_rfc2136_provider({{"server", "127.0.0.1"}, {"tsig-key-name", "nope"}, {"tsig-secret-file", "/one.conf"}}, one);
  REQUIRE_FALSE(other);
  CHECK_THAT(other.error().message, Catch::Contains("which holds \"solo\""));
}

TEST_CASE("rfc2136: the key named in tsig-key-name is the one that signs", "[dns]") {
  // BADKEY from a server that knows only key-b: the error names key-b, so key-b signed.
  std::string seen_key;
  FakeDns fake([&](const wire::Message& q) -> std::optional<wire::Message> {
    seen_key = q.additional.back().name;
    return tsig_error_answer(q, wire::rcode::kBadKey, std::nullopt);
  });
  const auto read = test::fake_secrets({{"/k.conf", kTwoKeys}});
  auto p = dns::make_rfc2136_provider({{"server", fake.server()}, {"tsig-key-name", "key-b"}, {"tsig-secret-file", "/k.conf"},
                                       {"timeout", "2"}}, read);
  REQUIRE(p);
  auto r = (*p)->present(kRec);
  REQUIRE_FALSE(r);
  CHECK(wire::same_name(seen_key, "key-b"));
  CHECK_THAT(r.error().message, Catch::Contains("TSIG error BADKEY") &&
                                    Catch::Contains("check tsig-key-name, tsig-algorithm and the secret"));
}

TEST_CASE("rfc2136: a tsig-algorithm that overrides the key file's is named when the server rejects the key", "[dns]") {
  FakeDns fake([](const wire::Message& q) -> std::optional<wire::Message> {
    return tsig_error_answer(q, wire::rcode::kBadKey, std::nullopt);
  });
  const auto read = test::fake_secrets({{"/k.conf", kTwoKeys}});
  auto p = dns::make_rfc2136_provider({{"server", fake.server()}, {"tsig-key-name", "key-a"}, {"tsig-algorithm", "hmac-sha512"},
                                       {"tsig-secret-file", "/k.conf"}}, read);
  REQUIRE(p);  // the option still wins, as before
  auto r = (*p)->present(kRec);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::EndsWith("it rejected key key-a (check tsig-key-name, tsig-algorithm and the "
                                                "secret; tsig-algorithm=hmac-sha512 overrides hmac-sha256 from the key file)"));
  // The same algorithm spelled differently is no override.
  auto same = dns::make_rfc2136_provider({{"server", fake.server()}, {"tsig-key-name", "key-a"}, {"tsig-algorithm", "HMAC-SHA256."},
                                          {"tsig-secret-file", "/k.conf"}}, read);
  REQUIRE(same);
  auto s = (*same)->present(kRec);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("overrides") == std::string::npos);
}

TEST_CASE("rfc2136: BADTIME says the clocks differ, with both times, the difference and NTP", "[dns]") {
  SECTION("the server's time from Other Data (RFC 8945 5.2.3)") {
    std::uint64_t ours = 0;
    FakeDns fake([&](const wire::Message& q) -> std::optional<wire::Message> {
      ours = request_time(q);
      return tsig_error_answer(q, wire::rcode::kBadTime, ours + 3725);
    });
    auto r = provider(config_for(fake.server()))->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    const std::string& msg = r.error().message;
    CHECK_THAT(msg, Catch::StartsWith("zone a.test: " + fake.server() + " answered NOTAUTH with TSIG error BADTIME: "
                                      "the server's clock and ours differ by 3725 s (server "));
    CHECK_THAT(msg, Catch::Contains("; TSIG allows 300 s); check that NTP keeps time on both hosts"));
    CHECK(msg.find("check tsig-key-name") == std::string::npos);
    // Both times, as RFC 3339 UTC.
    const auto utc = [](std::uint64_t t) {
      char buf[32];
      const std::time_t tt = static_cast<std::time_t>(t);
      std::tm tm{};
      ::gmtime_r(&tt, &tm);
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
      return std::string(buf);
    };
    CHECK_THAT(msg, Catch::Contains("(server " + utc(ours + 3725) + ", ours " + utc(ours) + ";"));
  }
  SECTION("no Other Data: the TSIG time signed field") {
    FakeDns fake([](const wire::Message& q) -> std::optional<wire::Message> {
      return tsig_error_answer(q, wire::rcode::kBadTime, std::nullopt);
    });
    auto r = provider(config_for(fake.server()))->present(kRec);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("BADTIME: the server's clock and ours differ by 0 s"));
  }
}

TEST_CASE("rfc2136: BADSIG keeps the key hint", "[dns]") {
  FakeDns fake([](const wire::Message& q) -> std::optional<wire::Message> {
    return tsig_error_answer(q, wire::rcode::kBadSig, std::nullopt);
  });
  auto r = provider(config_for(fake.server()))->present(kRec);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "zone a.test: " + fake.server() + " answered NOTAUTH with TSIG error BADSIG: it rejected "
                                                                "key key-a (check tsig-key-name, tsig-algorithm and the secret)");
}

TEST_CASE("rfc2136: a server that never answers is unreachable (Errc::network), over UDP and over TCP", "[dns]") {
  SECTION("UDP") {
    FakeDns silent([](const wire::Message&) -> std::optional<wire::Message> { return std::nullopt; });
    auto r = provider(config_for(silent.server()))->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::network);
    CHECK(r.error().message == "zone a.test: UDP to " + silent.server() + ": no answer in time");
  }
  SECTION("TCP: an UPDATE over 512 bytes to a server that accepts and says nothing") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    const std::string server = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    dns::TxtRecord big = kRec;
    big.value = std::string(600, 'v');
    auto r = provider(config_for(server))->present(big);
    ::close(fd);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::network);
    CHECK_THAT(r.error().message, Catch::Contains("TCP from " + server + ": no answer in time"));
  }
}

TEST_CASE("rfc2136: errors of present/cleanup leave the provider prefix to the solver", "[dns]") {
  auto r = provider(config_for("127.0.0.1:53"))->present({"a.test", "_acme-challenge.b.test", "x", std::chrono::seconds(60)});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK(r.error().message == "the name is not in zone a.test");
}

TEST_CASE("rfc2136: a SOA primary without an address says where the name came from and what was answered", "[dns]") {
  // The resolver: noaddr.test's SOA names ghost.noaddr.test, which has no address.
  const auto resolver = [](std::uint16_t a_rcode, std::uint16_t aaaa_rcode) {
    return [=](const wire::Message& q) -> std::optional<wire::Message> {
      wire::Message m;
      const auto& question = q.questions.at(0);
      if (question.type == wire::type::kSoa) {
        std::string soa = wire::encode_name("ghost.noaddr.test").value() + wire::encode_name("hostmaster.noaddr.test").value();
        soa.append(20, '\1');
        m.answers.push_back({"noaddr.test", wire::type::kSoa, wire::klass::kIn, 60, soa, 0});
      } else {
        m.header.rcode = static_cast<std::uint8_t>(question.type == wire::type::kA ? a_rcode : aaaa_rcode);
      }
      return m;
    };
  };
  const dns::TxtRecord rec{"noaddr.test", "_acme-challenge.noaddr.test", "x", std::chrono::seconds(60)};
  const auto attempt = [&](FakeDns& fake) {
    auto c = config_for("");
    c.port = 53;
    c.resolvers = {fake.server()};
    return provider(std::move(c))->present(rec);
  };
  {
    FakeDns fake(resolver(wire::rcode::kNxDomain, wire::rcode::kNxDomain));
    auto r = attempt(fake);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK(r.error().message == "zone noaddr.test: no server= option was given, so the update goes to zone noaddr.test's "
                               "SOA primary (MNAME) ghost.noaddr.test, which has no A or AAAA record: " + fake.server() +
                               " answered A: NXDOMAIN, AAAA: NXDOMAIN; name the update server with --dns-opt "
                               "server=HOST:PORT");
  }
  {
    FakeDns fake(resolver(wire::rcode::kServFail, wire::rcode::kNoError));
    auto r = attempt(fake);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(" answered A: SERVFAIL, AAAA: no data; "));
  }
}
