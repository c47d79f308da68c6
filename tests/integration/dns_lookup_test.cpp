// Zone detection, CNAME following, propagation and CAA against real BIND and PowerDNS servers.
#include <catch2/catch.hpp>

#include "dns/caa.hpp"
#include "dns/resolver_lookup.hpp"
#include "dns/zone.hpp"
#include "support/dns_env.hpp"

using namespace certpilot;
using certpilot::util::Errc;

namespace {
std::unique_ptr<dns::ResolverLookup> make_lookup(std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto& env = test::dns_test_env();
  dns::LookupOptions o;
  o.resolvers = {env.resolver()};
  o.timeout = timeout;
  o.interval = std::chrono::milliseconds(200);
  o.query_timeout = std::chrono::milliseconds(1000);
  o.nameserver_port_override = env.port;
  auto l = dns::ResolverLookup::create(std::move(o));
  REQUIRE(l);
  return std::move(*l);
}
}  // namespace

TEST_CASE("zones are found by walking SOA queries up, in both servers", "[integration][dns]") {
  auto lookup = make_lookup();
  CHECK(lookup->find_zone("_acme-challenge.deep.www.a.test").value() == "a.test");
  CHECK(lookup->find_zone("a.test").value() == "a.test");
  CHECK(lookup->find_zone("_acme-challenge.www.b.test").value() == "b.test");
  CHECK(dns::find_primary(lookup->resolver(), "a.test").value() == "ns1.a.test");
  auto ns = dns::find_nameservers(lookup->resolver(), "b.test");
  REQUIRE(ns);
  REQUIRE(ns->size() == 1);
  CHECK(ns->at(0).name == "ns.b.test");
  CHECK(ns->at(0).addresses == std::vector<std::string>{"127.0.0.2"});
}

TEST_CASE("CNAME chains are followed to their final target, loops are errors", "[integration][dns]") {
  auto lookup = make_lookup();
  CHECK(lookup->follow_cname("_acme-challenge.www.a.test").value() == "_acme-challenge.www.b.test");
  CHECK(lookup->follow_cname("_acme-challenge.chain.a.test").value() == "_acme-challenge.www.b.test");
  CHECK(lookup->follow_cname("_acme-challenge.plain.a.test").value() == "_acme-challenge.plain.a.test");
  auto loop = lookup->follow_cname("loop1.a.test");
  REQUIRE_FALSE(loop);
  CHECK(loop.error().message.find("loop1.a.test -> loop2.a.test -> loop1.a.test") != std::string::npos);
}

TEST_CASE("propagation: served values end the wait; a missing value times out naming each server", "[integration][dns]") {
  auto lookup = make_lookup();
  CHECK(lookup->wait_until_served({{"_acme-challenge.keep.a.test", "a.test", {"other-client-value"}},
                                   {"_acme-challenge.keep.b.test", "", {"other-client-value"}}}));
  auto slow = make_lookup(std::chrono::seconds(1));
  auto r = slow->wait_until_served({{"_acme-challenge.keep.a.test", "", {"other-client-value", "never-presented"}}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  const std::string port = std::to_string(test::dns_test_env().port);
  CHECK_THAT(r.error().message, Catch::Contains("ns1.a.test (127.0.0.1:" + port + ") _acme-challenge.keep.a.test: "
                                                "TXT \"other-client-value\" (missing \"never-presented\")"));
}

TEST_CASE("propagation against an address where no server listens reports the timeout", "[integration][dns]") {
  auto lookup = make_lookup(std::chrono::seconds(1));
  dns::PropagationOptions po;
  po.mode = dns::PropagationMode::resolvers;
  po.resolvers = {"127.0.0.9:" + std::to_string(test::dns_test_env().port)};
  po.timeout = std::chrono::seconds(1);
  po.interval = std::chrono::milliseconds(200);
  po.query_timeout = std::chrono::milliseconds(300);
  auto r = dns::wait_for_propagation(lookup->resolver(), {{"_acme-challenge.keep.a.test", "", {"x"}}}, po);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("127.0.0.9:"));
}

TEST_CASE("CAA: allowed, forbidden and issuewild-only records", "[integration][dns]") {
  auto lookup = make_lookup();
  auto& r = lookup->resolver();
  const dns::CaaRequester ca{{"ca.test"}, std::nullopt};  // no account URL: accounturi is not judged here
  auto apex = dns::check_caa(r, "www.a.test", false, ca);
  REQUIRE(apex);
  CHECK(apex->relevant_name == "a.test");

  auto forbidden = dns::check_caa(r, "x.forbidden.a.test", false, ca);
  REQUIRE_FALSE(forbidden);
  CHECK(forbidden.error().code == Errc::invalid_input);
  CHECK_THAT(forbidden.error().message, Catch::Contains("forbidden.a.test. 60 IN CAA 0 issue \"other-ca.example\""));

  CHECK(dns::check_caa(r, "wild.a.test", false, ca));  // issuewild does not restrict the base name
  auto wild = dns::check_caa(r, "*.wild.a.test", false, ca);
  REQUIRE_FALSE(wild);
  CHECK_THAT(wild.error().message, Catch::Contains("issuewild \"other-ca.example\""));
  CHECK(dns::check_caa(r, "*.wild.a.test", false, {{"other-ca.example"}, std::nullopt}));

  // No CAA anywhere up the tree of b.test: anything goes.
  auto none = dns::check_caa(r, "www.b.test", false, ca);
  REQUIRE(none);
  CHECK(none->relevant_name.empty());
  auto all = dns::check_caa_all(r, {"www.a.test", "*.forbidden.a.test"}, ca);
  CHECK_FALSE(all);
  CHECK(dns::check_caa_all(r, {"forbidden.a.test"}, {{}, std::nullopt}).value().empty());
}
