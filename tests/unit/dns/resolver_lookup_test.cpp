// dns::ResolverLookup remembers CNAME targets and zones for one order, so the check before ordering
// (agent DnsContext::check_zones) costs the solver no second round of queries.
#include <catch2/catch.hpp>

#include "dns/resolver_lookup.hpp"
#include "unit/dns/fake_dns_server.hpp"

using namespace certpilot;
using namespace std::chrono_literals;

TEST_CASE("resolver lookup: a CNAME target and a zone are asked once per order, again after minutes", "[dns]") {
  test::FakeDnsServer server([](const dns::wire::Question& q) -> std::optional<dns::wire::Message> {
    if (q.type == dns::wire::type::kSoa && dns::wire::canonical_name(q.name) == "a.test") {
      return test::answer(q, dns::wire::rcode::kNoError, {test::rr_soa("a.test", "ns1.a.test")});
    }
    return test::answer(q, dns::wire::rcode::kNoError, {});  // no data: no CNAME, no zone cut here
  });
  dns::LookupOptions options;
  options.resolvers = {server.server()};
  options.query_timeout = 500ms;
  util::FakeClock clock(util::SysTime{} + std::chrono::hours(1000));
  auto lookup = dns::ResolverLookup::create(options, clock);
  REQUIRE(lookup);
  const std::string name = "_acme-challenge.www.a.test";
  CHECK((*lookup)->follow_cname(name).value() == name);
  CHECK((*lookup)->find_zone(name).value() == "a.test");
  const auto asked = server.queries().size();
  CHECK(asked > 0);
  CHECK((*lookup)->follow_cname(name).value() == name);
  CHECK((*lookup)->find_zone(name).value() == "a.test");
  CHECK(server.queries().size() == asked);
  clock.advance(std::chrono::minutes(6));
  CHECK((*lookup)->find_zone(name).value() == "a.test");
  CHECK(server.queries().size() > asked);
}
