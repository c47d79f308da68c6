// The pdns provider against a real PowerDNS Authoritative with its HTTP API.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "agent/secret_reader.hpp"
#include "dns/pdns/pdns_provider.hpp"
#include "dns/resolver_lookup.hpp"
#include "support/text.hpp"
#include "support/dns_env.hpp"

using namespace certpilot;
using certpilot::util::Errc;

namespace {

dns::PdnsConfig config() {
  auto& env = test::dns_test_env();
  dns::PdnsConfig c;
  c.api_url = env.pdns->api_url();
  c.api_key = util::SecretString(env.pdns->api_key());
  c.timeout = std::chrono::seconds(10);
  return c;
}

std::string served(const std::string& name) {
  auto& env = test::dns_test_env();
  return test::dig_short(env.pdns->address(), env.port, name, "TXT");
}

}  // namespace

TEST_CASE("pdns: present and cleanup keep the other values at the name", "[integration][dns]") {
  auto p = dns::PdnsProvider::create(config());
  REQUIRE(p);
  const dns::TxtRecord rec{"b.test", "_acme-challenge.keep.b.test", "pdns-value", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  REQUIRE((*p)->present(rec));
  std::string now = served(rec.fqdn);
  CHECK(test::count_of(now, "\"pdns-value\"") == 1);
  CHECK(test::count_of(now, "\"other-client-value\"") == 1);
  REQUIRE((*p)->cleanup(rec));
  now = served(rec.fqdn);
  CHECK(test::count_of(now, "pdns-value") == 0);
  CHECK(test::count_of(now, "\"other-client-value\"") == 1);
}

TEST_CASE("pdns: a new name, the zone found from the server's zone list, two values, then nothing", "[integration][dns]") {
  auto p = dns::PdnsProvider::create(config());
  REQUIRE(p);
  const std::string long_value(300, 'q');  // over 255 bytes: two character-strings
  const dns::TxtRecord a{"", "_acme-challenge.fresh.b.test", "first \"quoted\"", std::chrono::seconds(30)};
  const dns::TxtRecord b{"", "_acme-challenge.fresh.b.test", long_value, std::chrono::seconds(30)};
  REQUIRE((*p)->present(a));
  REQUIRE((*p)->present(b));
  std::string now = served(a.fqdn);
  CHECK(test::count_of(now, "first \\\"quoted\\\"") == 1);
  CHECK(test::count_of(now, std::string(255, 'q')) == 1);
  REQUIRE((*p)->cleanup(a));
  REQUIRE((*p)->cleanup(b));
  CHECK(served(a.fqdn).empty());
}

TEST_CASE("pdns: wrong key, unknown zone and server down are clear errors", "[integration][dns]") {
  auto bad = config();
  bad.api_key = util::SecretString("wrong-key-do-not-print");
  auto p = dns::PdnsProvider::create(std::move(bad));
  REQUIRE(p);
  const dns::TxtRecord rec{"b.test", "_acme-challenge.err.b.test", "x", std::chrono::seconds(30)};
  auto r = (*p)->present(rec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);  // exit 1, not 5: a DNS provider failure
  CHECK_THAT(r.error().message, Catch::Contains(test::dns_test_env().pdns->api_url()) && Catch::Contains("401"));
  CHECK(r.error().message.find("wrong-key-do-not-print") == std::string::npos);

  auto good = dns::PdnsProvider::create(config());
  REQUIRE(good);
  auto nz = (*good)->present({"nosuch.test", "_acme-challenge.nosuch.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(nz);
  CHECK(nz.error().code == Errc::not_found);
  CHECK_THAT(nz.error().message, Catch::Contains("nosuch.test"));
  auto none = (*good)->present({"", "_acme-challenge.nowhere.example", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("no zone"));

  auto down = config();
  down.api_url = "http://127.0.0.1:" + std::to_string(test::free_tcp_port());
  auto d = dns::PdnsProvider::create(std::move(down));
  REQUIRE(d);
  auto dr = (*d)->present(rec);
  REQUIRE_FALSE(dr);
  CHECK(dr.error().code == Errc::network);
  CHECK(served(rec.fqdn).empty());
}

TEST_CASE("pdns: built from --dns-opt pairs", "[integration][dns]") {
  auto& env = test::dns_test_env();
  ::setenv("CERTPILOT_TEST_PDNS_KEY", env.pdns->api_key().c_str(), 1);
  auto p = dns::make_pdns_provider({{"api-url", env.pdns->api_url()}, {"api-key-env", "CERTPILOT_TEST_PDNS_KEY"}, {"zone", "b.test"}}, agent::read_secret);
  REQUIRE(p);
  CHECK((*p)->name() == "pdns");
  const dns::TxtRecord rec{"", "_acme-challenge.opt.b.test", "via-opts", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  CHECK(served(rec.fqdn) == "\"via-opts\"\n");
  REQUIRE((*p)->cleanup(rec));
  CHECK_FALSE(dns::make_pdns_provider({{"api-key-env", "CERTPILOT_TEST_PDNS_KEY"}}, agent::read_secret));
  CHECK_FALSE(dns::make_pdns_provider({{"api-url", "http://x"}, {"api-key-env", "CERTPILOT_TEST_PDNS_KEY"}, {"apikey", "x"}}, agent::read_secret));
}

TEST_CASE("CNAME delegation: _acme-challenge.www.a.test (BIND) points into b.test (PowerDNS)", "[integration][dns]") {
  auto& env = test::dns_test_env();
  dns::LookupOptions o;
  o.resolvers = {env.resolver()};
  o.timeout = std::chrono::seconds(20);
  o.interval = std::chrono::milliseconds(200);
  o.nameserver_port_override = env.port;
  auto lookup = dns::ResolverLookup::create(std::move(o));
  REQUIRE(lookup);
  // What Dns01Solver does: follow the CNAME, find the target's zone, write there, wait there.
  auto target = (*lookup)->follow_cname("_acme-challenge.www.a.test");
  REQUIRE(target);
  CHECK(*target == "_acme-challenge.www.b.test");
  auto zone = (*lookup)->find_zone(*target);
  REQUIRE(zone);
  CHECK(*zone == "b.test");
  auto p = dns::PdnsProvider::create(config());
  REQUIRE(p);
  const dns::TxtRecord rec{*zone, *target, "delegated-value", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  CHECK((*lookup)->wait_until_served({{*target, *zone, {"delegated-value"}}}));
  CHECK(served(*target) == "\"delegated-value\"\n");
  REQUIRE((*p)->cleanup(rec));
  CHECK(served(*target).empty());
}
