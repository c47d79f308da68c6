// The cloudflare provider against a loopback server that follows Cloudflare's documented API.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "dns/cloudflare/cloudflare_provider.hpp"
#include "fake_secrets.hpp"
#include "support/dns_cloudflare_fake.hpp"
#include "support/loopback_http.hpp"

using namespace certpilot;
using certpilot::util::Errc;
using test::FakeCloudflare;

namespace {
dns::CloudflareConfig config(const FakeCloudflare& cf, const std::string& token = "good-token") {
  dns::CloudflareConfig c;
  c.api_url = cf.api_url();
  c.api_token = util::SecretString(token);
  c.timeout = std::chrono::seconds(5);
  return c;
}
}  // namespace

TEST_CASE("cloudflare: present finds the zone by name, creates once, cleanup deletes exactly ours", "[dns]") {
  FakeCloudflare cf("good-token", {{"example.test", "zone123"}, {"other.test", "zone456"}});
  cf.add_record({"", "zone123", "TXT", "_acme-challenge.www.example.test", "other-client-value", 120});
  auto p = dns::CloudflareProvider::create(config(cf));
  REQUIRE(p);
  const dns::TxtRecord rec{"", "_acme-challenge.www.example.test", "our-value", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  REQUIRE((*p)->present(rec));
  auto now = cf.records(rec.fqdn);
  REQUIRE(now.size() == 2);
  CHECK(now[1].content == "our-value");
  CHECK(now[1].ttl == 60);  // Cloudflare's minimum
  REQUIRE((*p)->cleanup(rec));
  now = cf.records(rec.fqdn);
  REQUIRE(now.size() == 1);
  CHECK(now[0].content == "other-client-value");
  REQUIRE((*p)->cleanup(rec));  // nothing left of ours: fine
  // The zone was found by climbing: www.example.test is not a zone, example.test is.
  const auto reqs = cf.requests();
  CHECK(std::find(reqs.begin(), reqs.end(), "GET /client/v4/zones?name=www.example.test") != reqs.end());
  CHECK(std::find(reqs.begin(), reqs.end(), "GET /client/v4/zones?name=example.test") != reqs.end());
}

TEST_CASE("cloudflare: the solver's zone and a configured zone-id skip the climb", "[dns]") {
  FakeCloudflare cf("good-token", {{"example.test", "zone123"}});
  auto c = config(cf);
  c.zone_id = "zone123";
  auto p = dns::CloudflareProvider::create(std::move(c));
  REQUIRE(p);
  REQUIRE((*p)->present({"", "_acme-challenge.example.test", "v", std::chrono::seconds(300)}));
  CHECK(cf.records("_acme-challenge.example.test").at(0).ttl == 300);
  for (const auto& r : cf.requests()) CHECK(r.find("/zones?name=") == std::string::npos);
}

TEST_CASE("cloudflare: errors carry Cloudflare's codes and never the token", "[dns]") {
  FakeCloudflare cf("good-token", {{"example.test", "zone123"}});
  SECTION("bad token") {
    auto p = dns::CloudflareProvider::create(config(cf, "bad-token-secret"));
    REQUIRE(p);
    auto r = (*p)->present({"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)});
    REQUIRE_FALSE(r);
    // A DNS provider failure (exit 1), not the CA refusing us (Errc::unauthorized, exit 5).
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::Contains("refused the API token (HTTP 403)") &&
                                      Catch::Contains("10000 Authentication error") && Catch::Contains(cf.api_url()) &&
                                      Catch::Contains("api-token-file"));
    CHECK(r.error().message.find("bad-token-secret") == std::string::npos);
  }
  SECTION("unknown zone") {
    auto p = dns::CloudflareProvider::create(config(cf));
    REQUIRE(p);
    auto r = (*p)->present({"", "_acme-challenge.www.nowhere.test", "v", std::chrono::seconds(60)});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::not_found);
    CHECK_THAT(r.error().message, Catch::Contains("www.nowhere.test, nowhere.test"));
  }
  SECTION("invalid zone id") {
    auto c = config(cf);
    c.zone_id = "nope";
    auto p = dns::CloudflareProvider::create(std::move(c));
    REQUIRE(p);
    auto r = (*p)->present({"", "_acme-challenge.example.test", "v", std::chrono::seconds(60)});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("7003"));
  }
  SECTION("an HTML error page from a proxy") {
    auto p = dns::CloudflareProvider::create(config(cf));
    REQUIRE(p);
    cf.fail_next(10);
    auto r = (*p)->present({"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("500") && Catch::Contains("without a JSON envelope"));
    cf.fail_next(0);
    CHECK(cf.records("_acme-challenge.example.test").empty());
  }
  SECTION("server down") {
    auto c = config(cf);
    c.api_url = "http://127.0.0.1:1/client/v4";
    auto p = dns::CloudflareProvider::create(std::move(c));
    REQUIRE(p);
    auto r = (*p)->present({"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::network);
  }
}

TEST_CASE("cloudflare: a 429 carries Cloudflare's Retry-After, for the daemon's next attempt", "[dns]") {
  test::LoopbackHttp server([](const test::SeenRequest&) {
    return test::canned("429 Too Many Requests", {"Content-Type: application/json", "Retry-After: 30"},
                        R"({"success": false, "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}]})");
  });
  auto c = dns::CloudflareConfig{};
  c.api_url = server.url("/client/v4");
  c.api_token = util::SecretString("good-token");
  c.timeout = std::chrono::seconds(5);
  auto p = dns::CloudflareProvider::create(std::move(c));
  REQUIRE(p);
  auto r = (*p)->present({"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK_THAT(r.error().message, Catch::Contains("971") && Catch::Contains("rate limited by the Cloudflare API"));
  REQUIRE(r.error().retry_after);
  CHECK(*r.error().retry_after == std::chrono::seconds(30));
}

TEST_CASE("cloudflare: a server that echoes the request headers does not get the token into errors", "[dns]") {
  const std::string token = "cfTok-SuperSecret-0123456789abcdefghijklmn";
  FakeCloudflare cf(token, {{"example.test", "zone123"}});
  cf.echo_request_headers(true);
  const dns::TxtRecord rec{"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)};
  const auto check_clean = [&](const util::Error& e) {
    INFO(e.message);
    CHECK(e.message.find(token) == std::string::npos);
    CHECK(e.message.find(token.substr(0, 12)) == std::string::npos);  // not even a cut-off prefix
    CHECK(e.message.find("Bearer cfTok") == std::string::npos);
    CHECK_THAT(e.message, Catch::Contains("[redacted]"));
    CHECK(e.describe().find(token) == std::string::npos);
  };
  SECTION("wrong token, 403") {
    const std::string wrong = "cfTok-WrongButStillSecret-9876543210zyxwvu";
    auto p = dns::CloudflareProvider::create(config(cf, wrong));
    REQUIRE(p);
    auto r = (*p)->present(rec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK(r.error().message.find(wrong) == std::string::npos);
    CHECK_THAT(r.error().message, Catch::Contains("refused the API token (HTTP 403)") && Catch::Contains("[redacted]"));
  }
  SECTION("good token, 404 on an unknown zone id") {
    auto c = config(cf, token);
    c.zone_id = "nope";
    auto p = dns::CloudflareProvider::create(std::move(c));
    REQUIRE(p);
    auto r = (*p)->present(rec);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("7003"));
    check_clean(r.error());
  }
  SECTION("good token, HTML page of a failing proxy") {
    auto p = dns::CloudflareProvider::create(config(cf, token));
    REQUIRE(p);
    cf.fail_next(10);
    auto r = (*p)->present(rec);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::Contains("without a JSON envelope"));
    check_clean(r.error());
  }
}

TEST_CASE("cloudflare: built from --dns-opt pairs", "[dns]") {
  FakeCloudflare cf("good-token", {{"example.test", "zone123"}});
  const auto read = test::fake_secrets({{"CERTPILOT_TEST_CF_TOKEN", "good-token"}});
  auto p = dns::make_cloudflare_provider({{"api-url", cf.api_url()}, {"api-token-env", "CERTPILOT_TEST_CF_TOKEN"}}, read);
  REQUIRE(p);
  CHECK((*p)->name() == "cloudflare");
  REQUIRE((*p)->present({"example.test", "_acme-challenge.example.test", "v", std::chrono::seconds(60)}));
  CHECK(cf.records("_acme-challenge.example.test").size() == 1);
  auto missing = dns::make_cloudflare_provider({{"api-token-env", "CERTPILOT_TEST_NOT_SET_ANYWHERE"}}, read);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("CERTPILOT_TEST_NOT_SET_ANYWHERE"));
  CHECK_FALSE(dns::make_cloudflare_provider({{"api-token-env", "CERTPILOT_TEST_CF_TOKEN"}, {"zoneid", "x"}}, read));
  CHECK_FALSE(dns::make_cloudflare_provider({{"api-token-env", "CERTPILOT_TEST_CF_TOKEN"}, {"timeout", "soon"}}, read));
}
