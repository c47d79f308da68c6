// dns/challtestsrv against a loopback stand-in for pebble-challtestsrv's management API.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "dns/challtestsrv/challtestsrv_provider.hpp"
#include "support/loopback_http.hpp"

using namespace certpilot;
using util::Errc;

namespace {

// Answers every request with `status` and `reply`, like pebble-challtestsrv's management API.
std::unique_ptr<test::LoopbackHttp> fake_challtestsrv(int status, const std::string& reply) {
  return std::make_unique<test::LoopbackHttp>([status, reply](const test::SeenRequest&) -> std::optional<std::string> {
    return test::canned(std::to_string(status) + " X", {}, reply);
  });
}

dns::ProviderPtr make(const std::string& url) {
  auto p = dns::ChalltestsrvProvider::create({{"url", url}});
  REQUIRE(p);
  return std::move(*p);
}

const dns::TxtRecord kRecord{"x.test", "_acme-challenge.x.test", "v", std::chrono::seconds(60)};

}  // namespace

TEST_CASE("challtestsrv: present POSTs /set-txt with the FQDN's trailing dot, cleanup /clear-txt", "[dns]") {
  const auto srv = fake_challtestsrv(200, "");
  auto p = make(srv->url("/"));  // a trailing slash is dropped
  CHECK(p->name() == "challtestsrv");
  REQUIRE(p->present(kRecord));
  REQUIRE(p->cleanup(kRecord));
  const auto seen = srv->requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].request_line == "POST /set-txt HTTP/1.1");
  CHECK(seen[0].header("content-type") == "application/json");
  // The client's options are built inside src/, so this is the real default User-Agent.
  CHECK_THAT(seen[0].header("user-agent"), Catch::StartsWith("certpilot/"));
  CHECK(seen[0].header("user-agent") != "certpilot/unit-test");
  CHECK(nlohmann::json::parse(seen[0].body) ==
        nlohmann::json{{"host", "_acme-challenge.x.test."}, {"value", "v"}});
  CHECK(seen[1].request_line == "POST /clear-txt HTTP/1.1");
  CHECK(nlohmann::json::parse(seen[1].body) == nlohmann::json{{"host", "_acme-challenge.x.test."}});
}

TEST_CASE("challtestsrv: a non-200 answer is Errc::dns quoting the body", "[dns]") {
  const auto srv = fake_challtestsrv(500, "internal error:\nno such host\n");
  auto p = make(srv->url(""));
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message ==
        "POST " + srv->url("") + "/set-txt answered HTTP 500: internal error: no such host");
  auto c = p->cleanup(kRecord);
  REQUIRE_FALSE(c);
  CHECK(c.error().code == Errc::dns);
  CHECK_THAT(c.error().message, Catch::Contains("/clear-txt answered HTTP 500"));
}

TEST_CASE("challtestsrv: nobody listening is a network error naming the URL, without a provider prefix", "[dns]") {
  const std::string url = "http://127.0.0.1:" + std::to_string(test::unused_loopback_port());
  auto p = make(url);
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::network);
  // The solver puts "challtestsrv: adding TXT <fqdn>: " in front: the provider does not repeat it.
  CHECK_THAT(r.error().message, Catch::StartsWith("POST: " + url + "/set-txt: cannot connect"));
}

TEST_CASE("challtestsrv: create() rejects unknown options and non-http URLs", "[dns]") {
  auto unknown = dns::ChalltestsrvProvider::create({{"host", "127.0.0.1"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::invalid_input);
  CHECK(unknown.error().message == "challtestsrv: unknown option 'host' (known: url)");

  auto bad_url = dns::ChalltestsrvProvider::create({{"url", "127.0.0.1:8055"}});
  REQUIRE_FALSE(bad_url);
  CHECK(bad_url.error().code == Errc::invalid_input);
  CHECK(bad_url.error().message == "challtestsrv: url '127.0.0.1:8055' is not an http(s) URL");

  CHECK(dns::ChalltestsrvProvider::create({}));  // the default URL
}
