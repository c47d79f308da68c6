// PdnsProvider against LoopbackHttp: how HTTP failures of the PowerDNS API become errors. The real
// PowerDNS runs in tests/integration/dns_pdns_test.cpp; a misbehaving server cannot be made from it.
#include <catch2/catch.hpp>

#include <functional>

#include "dns/pdns/pdns_provider.hpp"
#include "support/loopback_http.hpp"
#include "util/base64url.hpp"

using namespace certpilot;
using util::Errc;
using test::canned;
using test::LoopbackHttp;
using test::SeenRequest;

namespace {

const std::string kKey = "PdnsKey-SuperSecret-0123456789abcdefXYZ";

std::unique_ptr<dns::PdnsProvider> provider(const LoopbackHttp& server, const std::string& key = kKey) {
  dns::PdnsConfig c;
  c.api_url = server.url("");
  c.api_key = util::SecretString(key);
  c.zone = "example.test";
  c.timeout = std::chrono::seconds(5);
  auto p = dns::PdnsProvider::create(std::move(c));
  REQUIRE(p);
  return std::move(*p);
}

const dns::TxtRecord kRec{"", "_acme-challenge.example.test", "value-1", std::chrono::seconds(60)};

// Every header of the request, one "Name: value" line each, as an echoing proxy would print them.
std::string echo(const SeenRequest& req) {
  std::string out = req.request_line + "\n";
  for (const auto& [name, value] : req.headers) out += name + ": " + value + "\n";
  return out;
}

void check_no_key(const util::Error& e, const std::string& key = kKey) {
  INFO(e.message);
  CHECK(e.message.find(key) == std::string::npos);
  CHECK(e.message.find(key.substr(0, 12)) == std::string::npos);  // not even a cut-off prefix
  CHECK(e.message.find(util::base64_encode(key).substr(0, 16)) == std::string::npos);
  CHECK(e.describe().find(key) == std::string::npos);
}

}  // namespace

TEST_CASE("pdns: a 401 that echoes X-API-Key is a DNS error without the key", "[dns]") {
  using Body = std::function<std::string(const SeenRequest&)>;
  const std::vector<std::pair<std::string, Body>> bodies{
      {"plain text echo of the headers", [](const SeenRequest& r) { return "Unauthorized\n" + echo(r); }},
      {"JSON error quoting the key bare",
       [](const SeenRequest& r) { return R"({"error": "bad key )" + r.header("x-api-key") + R"("})"; }},
      {"JSON echo of the headers",
       [](const SeenRequest& r) { return R"({"error": "Unauthorized", "headers": {"X-API-Key": ")" + r.header("x-api-key") + R"("}})"; }},
      {"base64 of the key", [](const SeenRequest& r) { return "token " + util::base64_encode(r.header("x-api-key")); }},
  };
  for (const auto& [name, body] : bodies) {
    DYNAMIC_SECTION(name) {
      LoopbackHttp server([&body = body](const SeenRequest& r) { return canned("401 Unauthorized", {"Content-Type: text/plain"}, body(r)); });
      auto p = provider(server);
      auto r = p->present(kRec);
      REQUIRE_FALSE(r);
      // Exit 1 ("DNS provider"), not Errc::unauthorized, which is the CA refusing us (exit 5).
      CHECK(r.error().code == Errc::dns);
      CHECK_THAT(r.error().message, Catch::StartsWith("zone example.test: ") &&
                                        Catch::Contains(server.url("/api/v1/servers/localhost/zones/example.test.")) &&
                                        Catch::Contains("refused the API key (HTTP 401)") &&
                                        Catch::Contains("check api-key-file or api-key-env"));
      check_no_key(r.error());
      // The key did reach the server: the test would prove nothing otherwise.
      REQUIRE_FALSE(server.requests().empty());
      CHECK(server.requests()[0].header("x-api-key") == kKey);
    }
  }
}

TEST_CASE("pdns: 403 on the PATCH, after a good GET, is a DNS error without the key", "[dns]") {
  LoopbackHttp server([](const SeenRequest& r) -> std::optional<std::string> {
    if (r.method == "GET") return canned("200 OK", {"Content-Type: application/json"}, R"({"name": "example.test.", "rrsets": []})");
    return canned("403 Forbidden", {"Content-Type: application/json"},
                  R"({"error": "key not allowed to write: X-API-Key: )" + r.header("x-api-key") + R"("})");
  });
  auto p = provider(server);
  auto r = p->present(kRec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK_THAT(r.error().message, Catch::Contains("refused the API key (HTTP 403)") && Catch::Contains("key not allowed to write"));
  check_no_key(r.error());
  REQUIRE(server.requests().size() == 2);
  CHECK(server.requests()[1].method == "PATCH");
}

TEST_CASE("pdns: other HTTP failures keep PowerDNS's message and are DNS errors", "[dns]") {
  SECTION("404: no such zone") {
    LoopbackHttp server([](const SeenRequest&) {
      return canned("404 Not Found", {"Content-Type: application/json"}, R"({"error": "Could not find domain 'example.test.'"})");
    });
    auto r = provider(server)->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::not_found);  // also exit 1
    CHECK(r.error().message == "zone example.test is not on this PowerDNS server (server-id localhost): " +
                                   server.url("/api/v1/servers/localhost/zones/example.test.") +
                                   " answered 404: Could not find domain 'example.test.'; check the zone option or server-id");
  }
  SECTION("500 from a proxy that prints the request") {
    LoopbackHttp server([](const SeenRequest& r) { return canned("500 Internal Server Error", {"Content-Type: text/html"}, "<pre>" + echo(r) + "</pre>"); });
    auto r = provider(server)->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::Contains("answered 500: <pre>GET /api/v1/servers/localhost/zones/example.test. HTTP/1.1"));
    check_no_key(r.error());
  }
  SECTION("429 and 503 carry the server's Retry-After, for the daemon's next attempt") {
    LoopbackHttp server([](const SeenRequest&) {
      return canned("429 Too Many Requests", {"Content-Type: application/json", "Retry-After: 120"}, R"({"error": "slow down"})");
    });
    auto r = provider(server)->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    REQUIRE(r.error().retry_after);
    CHECK(*r.error().retry_after == std::chrono::seconds(120));
    LoopbackHttp unavailable([](const SeenRequest&) { return canned("503 Service Unavailable", {}, "down"); });
    auto no_header = provider(unavailable)->present(kRec);
    REQUIRE_FALSE(no_header);
    CHECK_FALSE(no_header.error().retry_after);
  }
  SECTION("a short key is still removed, wherever it is") {
    LoopbackHttp server([](const SeenRequest& r) {
      return canned("401 Unauthorized", {}, "you sent '" + r.header("x-api-key") + "'; hint: k3y");
    });
    auto r = provider(server, "k3y")->present(kRec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::Contains("you sent '[redacted]'; hint: [redacted]"));
  }
}
