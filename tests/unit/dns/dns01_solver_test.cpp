// dns/dns01_solver with a fake provider and a fake DnsLookup: grouping, CNAME routing, and that
// everything presented comes off again.
#include <catch2/catch.hpp>

#include <map>

#include "dns/dns01_solver.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace certpilot;
using util::Errc;

namespace {

class FakeProvider final : public dns::Provider {
 public:
  explicit FakeProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  util::Result<void> present(const dns::TxtRecord& r) override {
    ++present_calls;
    calls.push_back("present " + r.fqdn + " " + r.value + " zone=" + r.zone + " ttl=" + std::to_string(r.ttl.count()));
    if (fail_present_at == present_calls) return util::fail(Errc::dns, "SERVFAIL from ns1");
    return util::ok();
  }
  util::Result<void> cleanup(const dns::TxtRecord& r) override {
    calls.push_back("cleanup " + r.fqdn + " " + r.value);
    if (fail_cleanup) return util::fail(Errc::dns, "REFUSED from ns1");
    return util::ok();
  }
  std::vector<std::string> calls;
  int present_calls = 0;
  int fail_present_at = 0;  // 1-based; 0 = never
  bool fail_cleanup = false;

 private:
  std::string name_;
};

class FakeLookup final : public dns::DnsLookup {
 public:
  util::Result<std::string> follow_cname(const std::string& fqdn) override {
    cname_queries.push_back(fqdn);
    if (fqdn == cname_error_at) return util::fail(Errc::dns, "CNAME loop: " + fqdn + " -> " + fqdn);
    const auto it = cnames.find(fqdn);
    return it == cnames.end() ? fqdn : it->second;
  }
  util::Result<std::string> find_zone(const std::string& fqdn) override {
    for (const auto& [suffix, zone] : zones) {
      if (fqdn.size() >= suffix.size() && fqdn.compare(fqdn.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return zone;
      }
    }
    return util::fail(Errc::dns, "no SOA found for " + fqdn);
  }
  util::Result<void> wait_until_served(const std::vector<dns::TxtExpectation>& expected) override {
    waited.push_back(expected);
    if (wait_error) return util::fail(Errc::timeout, "ns1.example.test answered NXDOMAIN for 10 minutes");
    return util::ok();
  }
  std::map<std::string, std::string> cnames;
  std::map<std::string, std::string> zones;  // name suffix -> zone
  std::string cname_error_at;
  bool wait_error = false;
  std::vector<std::string> cname_queries;
  std::vector<std::vector<dns::TxtExpectation>> waited;
};

acme::Dns01Challenge challenge(const std::string& identifier, bool wildcard, const std::string& value) {
  acme::Dns01Challenge c;
  c.identifier = identifier;
  c.wildcard = wildcard;
  c.token = "token-" + value;
  c.key_authorization = "token-" + value + ".thumb";
  c.txt_value = value;
  return c;
}

}  // namespace

TEST_CASE("wildcard and base name share one TXT name: both presented, awaited together", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.zones = {{"example.test", "example.test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup, dns::SolverOptions{std::chrono::seconds(120), true});
  const std::vector<acme::Dns01Challenge> chs = {challenge("example.test", false, "base-value"),
                                                 challenge("example.test", true, "wild-value")};
  REQUIRE(solver.present(chs));
  CHECK(provider.calls == std::vector<std::string>{
                              "present _acme-challenge.example.test base-value zone=example.test ttl=120",
                              "present _acme-challenge.example.test wild-value zone=example.test ttl=120"});
  REQUIRE(lookup.waited.size() == 1);  // one wait for the whole order
  REQUIRE(lookup.waited[0].size() == 1);
  const auto& exp = lookup.waited[0][0];
  CHECK(exp.fqdn == "_acme-challenge.example.test");
  CHECK(exp.zone == "example.test");
  CHECK(exp.values == std::vector<std::string>{"base-value", "wild-value"});
  CHECK(solver.presented().size() == 2);
  // What a second Ctrl-C would print as left behind, until the clean-up.
  CHECK(util::abandon_note() == "  TXT _acme-challenge.example.test \"base-value\" (fake)\n"
                                "  TXT _acme-challenge.example.test \"wild-value\" (fake)\n");

  provider.calls.clear();
  REQUIRE(solver.cleanup(chs));
  CHECK(util::abandon_note().empty());
  CHECK(provider.calls == std::vector<std::string>{"cleanup _acme-challenge.example.test base-value",
                                                   "cleanup _acme-challenge.example.test wild-value"});
  CHECK(solver.presented().empty());
  // Idempotent: nothing left to remove.
  provider.calls.clear();
  REQUIRE(solver.cleanup(chs));
  CHECK(provider.calls.empty());
}

TEST_CASE("names are grouped case-insensitively, one expectation per name", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.zones = {{"example.test", "example.test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  REQUIRE(solver.present({challenge("WWW.example.test", false, "v1"), challenge("www.example.test", true, "v2"),
                          challenge("api.example.test", false, "v3")}));
  REQUIRE(lookup.waited.size() == 1);
  const auto& exps = lookup.waited[0];
  REQUIRE(exps.size() == 2);
  CHECK(exps[0].fqdn == "_acme-challenge.api.example.test");
  CHECK(exps[0].values == std::vector<std::string>{"v3"});
  CHECK(exps[1].fqdn == "_acme-challenge.www.example.test");
  CHECK(exps[1].values == std::vector<std::string>{"v1", "v2"});
  REQUIRE(solver.cleanup({}));
}

TEST_CASE("a CNAME target is used and routed to the longest matching zone suffix", "[dns]") {
  FakeProvider fallback("default");
  FakeProvider delegated("delegated");
  FakeProvider broader("broader");
  FakeLookup lookup;
  lookup.cnames = {{"_acme-challenge.www.example.test", "www.acme.delegated.test"}};
  lookup.zones = {{"acme.delegated.test", "acme.delegated.test"}, {"example.test", "example.test"}};
  dns::Dns01Solver solver({{"", &fallback}, {"delegated.test", &broader}, {"acme.delegated.test", &delegated}}, lookup);
  REQUIRE(solver.present({challenge("www.example.test", false, "v")}));
  CHECK(lookup.cname_queries == std::vector<std::string>{"_acme-challenge.www.example.test"});
  CHECK(delegated.calls == std::vector<std::string>{"present www.acme.delegated.test v zone=acme.delegated.test ttl=60"});
  CHECK(fallback.calls.empty());
  CHECK(broader.calls.empty());
  REQUIRE(lookup.waited.size() == 1);
  CHECK(lookup.waited[0].at(0).fqdn == "www.acme.delegated.test");
  CHECK(lookup.waited[0].at(0).zone == "acme.delegated.test");
  REQUIRE(solver.cleanup({}));
  CHECK(delegated.calls.back() == "cleanup www.acme.delegated.test v");
}

TEST_CASE("a zone suffix matches at label boundaries only", "[dns]") {
  FakeProvider zone_provider("zone");
  FakeProvider fallback("default");
  FakeLookup lookup;
  lookup.zones = {{".test", "test"}};
  dns::Dns01Solver solver({{"example.test", &zone_provider}, {"", &fallback}}, lookup);
  // "badexample.test" ends in "example.test" but is not at or under it.
  REQUIRE(solver.present({challenge("badexample.test", false, "a"), challenge("sub.example.test", false, "b")}));
  CHECK(fallback.calls == std::vector<std::string>{"present _acme-challenge.badexample.test a zone=test ttl=60"});
  CHECK(zone_provider.calls == std::vector<std::string>{"present _acme-challenge.sub.example.test b zone=test ttl=60"});
  REQUIRE(solver.cleanup({}));
}

TEST_CASE("with follow_cname off the CNAME is not looked up", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.cnames = {{"_acme-challenge.example.test", "elsewhere.test"}};
  lookup.zones = {{"test", "example.test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup, dns::SolverOptions{std::chrono::seconds(60), false});
  REQUIRE(solver.present({challenge("example.test", false, "v")}));
  CHECK(lookup.cname_queries.empty());
  CHECK(provider.calls.at(0) == "present _acme-challenge.example.test v zone=example.test ttl=60");
  REQUIRE(solver.cleanup({}));
}

TEST_CASE("no provider for the (CNAME target) name is invalid_input, nothing presented", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.cnames = {{"_acme-challenge.example.test", "_acme-challenge.other.test"}};
  lookup.zones = {{"test", "test"}};
  dns::Dns01Solver solver({{"example.test", &provider}}, lookup);
  auto r = solver.present({challenge("example.test", false, "v")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK(r.error().message ==
        "DNS-01: no DNS provider is configured for _acme-challenge.other.test (after following CNAMEs); add a "
        "provider for its zone");
  CHECK(provider.calls.empty());
  CHECK(lookup.waited.empty());
  CHECK(solver.presented().empty());

  // A route with a null provider does not count.
  dns::Dns01Solver null_route({{"", nullptr}}, lookup);
  auto r2 = null_route.present({challenge("example.test", false, "v")});
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == Errc::invalid_input);
}

TEST_CASE("a CNAME lookup failure is returned wrapped with the name", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.cname_error_at = "_acme-challenge.loop.test";
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  auto r = solver.present({challenge("loop.test", false, "v")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message == "following CNAMEs of _acme-challenge.loop.test: CNAME loop: "
                             "_acme-challenge.loop.test -> _acme-challenge.loop.test");
  CHECK(provider.calls.empty());
  CHECK(lookup.waited.empty());
}

TEST_CASE("a zone that cannot be found is not fatal: the provider gets an empty zone", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;  // no zones: find_zone fails
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  REQUIRE(solver.present({challenge("nozone.test", false, "v")}));
  CHECK(provider.calls == std::vector<std::string>{"present _acme-challenge.nozone.test v zone= ttl=60"});
  REQUIRE(lookup.waited.size() == 1);
  CHECK(lookup.waited[0].at(0).zone.empty());
  REQUIRE(solver.cleanup({}));
}

TEST_CASE("a present failure is returned, and cleanup removes everything presented so far", "[dns]") {
  FakeProvider provider("fake");
  provider.fail_present_at = 3;
  FakeLookup lookup;
  lookup.zones = {{"test", "test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  const std::vector<acme::Dns01Challenge> chs = {challenge("a.test", false, "va"), challenge("b.test", false, "vb"),
                                                 challenge("c.test", false, "vc"), challenge("d.test", false, "vd")};
  auto r = solver.present(chs);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message == "fake: adding TXT _acme-challenge.c.test: SERVFAIL from ns1");
  CHECK(provider.present_calls == 3);  // stopped at the failure
  CHECK(lookup.waited.empty());        // and never waited
  // Only what was added counts as presented...
  CHECK(solver.presented().size() == 2);
  // A second Ctrl-C would name all three: the failed add may have written its record.
  CHECK(util::abandon_note() == "  TXT _acme-challenge.a.test \"va\" (fake)\n  TXT _acme-challenge.b.test \"vb\" (fake)\n"
                                "  TXT _acme-challenge.c.test \"vc\" (fake)\n");

  provider.calls.clear();
  REQUIRE(solver.cleanup(chs));
  CHECK(util::abandon_note().empty());
  // ...but the failed one is removed too: a provider may fail after adding the record.
  CHECK(provider.calls == std::vector<std::string>{"cleanup _acme-challenge.a.test va", "cleanup _acme-challenge.b.test vb",
                                                   "cleanup _acme-challenge.c.test vc"});
  CHECK(solver.presented().empty());
}

TEST_CASE("a record whose add failed is not reported left behind when its removal fails too", "[dns]") {
  FakeProvider provider("fake");
  provider.fail_present_at = 1;
  provider.fail_cleanup = true;  // the same broken key or unreachable API fails both verbs
  FakeLookup lookup;
  lookup.zones = {{"test", "test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  const std::vector<acme::Dns01Challenge> chs = {challenge("a.test", false, "va")};
  auto r = solver.present(chs);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "fake: adding TXT _acme-challenge.a.test: SERVFAIL from ns1");
  CHECK(solver.presented().empty());
  provider.calls.clear();
  // The cause above is the one error: the courtesy removal's failure is no clean-up failure.
  REQUIRE(solver.cleanup(chs));
  CHECK(provider.calls == std::vector<std::string>{"cleanup _acme-challenge.a.test va"});
  CHECK(solver.presented().empty());
  provider.calls.clear();
  REQUIRE(solver.cleanup(chs));  // and it is not retried forever
  CHECK(provider.calls.empty());
}

TEST_CASE("records added before a failed add that cannot be removed are still reported, by name and value",
          "[dns]") {
  FakeProvider provider("fake");
  provider.fail_present_at = 2;
  FakeLookup lookup;
  lookup.zones = {{"test", "test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  const std::vector<acme::Dns01Challenge> chs = {challenge("a.test", false, "va"), challenge("b.test", false, "vb")};
  REQUIRE_FALSE(solver.present(chs));
  provider.fail_cleanup = true;
  auto r = solver.cleanup(chs);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message == "could not remove 1 TXT record(s); remove them by hand");
  CHECK(r.error().details == std::vector<std::string>{"fake: removing TXT _acme-challenge.a.test \"va\": REFUSED from ns1"});
  REQUIRE(solver.presented().size() == 1);
  CHECK(solver.presented()[0].value == "va");
}

TEST_CASE("a cleanup failure is Errc::dns listing the records, which are kept for a retry", "[dns]") {
  FakeProvider good("good");
  FakeProvider bad("bad");
  FakeLookup lookup;
  lookup.zones = {{"test", "test"}};
  dns::Dns01Solver solver({{"", &good}, {"bad.test", &bad}}, lookup);
  const std::vector<acme::Dns01Challenge> chs = {challenge("ok.test", false, "v1"), challenge("x.bad.test", false, "v2"),
                                                 challenge("x.bad.test", true, "v3")};
  REQUIRE(solver.present(chs));
  bad.fail_cleanup = true;
  auto r = solver.cleanup(chs);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message == "could not remove 2 TXT record(s); remove them by hand");
  CHECK(r.error().details == std::vector<std::string>{"bad: removing TXT _acme-challenge.x.bad.test \"v2\": REFUSED from ns1",
                                                      "bad: removing TXT _acme-challenge.x.bad.test \"v3\": REFUSED from ns1"});
  CHECK_THAT(r.error().describe(), Catch::Contains("_acme-challenge.x.bad.test"));
  // The good one is gone; the two failed ones are kept.
  auto left = solver.presented();
  REQUIRE(left.size() == 2);
  CHECK(left[0].value == "v2");
  CHECK(left[1].value == "v3");
  CHECK(good.calls.back() == "cleanup _acme-challenge.ok.test v1");

  // A later retry removes them and only them.
  bad.fail_cleanup = false;
  bad.calls.clear();
  good.calls.clear();
  REQUIRE(solver.cleanup(chs));
  CHECK(bad.calls == std::vector<std::string>{"cleanup _acme-challenge.x.bad.test v2", "cleanup _acme-challenge.x.bad.test v3"});
  CHECK(good.calls.empty());
  CHECK(solver.presented().empty());
}

TEST_CASE("a wait_until_served failure is returned wrapped and records stay for cleanup", "[dns]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.zones = {{"test", "test"}};
  lookup.wait_error = true;
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  auto r = solver.present({challenge("a.test", false, "v")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  CHECK(r.error().message ==
        "waiting for the TXT records to propagate: ns1.example.test answered NXDOMAIN for 10 minutes");
  CHECK(solver.presented().size() == 1);
  REQUIRE(solver.cleanup({}));
  CHECK(provider.calls.back() == "cleanup _acme-challenge.a.test v");
}

TEST_CASE("the solver's info lines name fqdn and zone and provider and value (providers log at debug)", "[dns][log]") {
  FakeProvider provider("fake");
  FakeLookup lookup;
  lookup.zones = {{"a.test", "a.test"}};
  dns::Dns01Solver solver({{"", &provider}}, lookup);
  std::vector<std::string> lines;
  util::set_log_sink([&](std::string_view line) { lines.emplace_back(util::trim(line)); });
  const bool presented = solver.present({challenge("www.a.test", false, "v1"), challenge("x.nozone.test", false, "v2")}).has_value();
  const bool removed = solver.cleanup({}).has_value();
  util::set_log_sink(nullptr);
  CHECK(presented);
  CHECK(removed);
  std::vector<std::string> txt_lines;
  for (const auto& l : lines) {
    if (l.find("TXT record") != std::string::npos) txt_lines.push_back(l);
  }
  CHECK(txt_lines == std::vector<std::string>{
                         "info dns: TXT record presented fqdn=_acme-challenge.www.a.test zone=a.test provider=fake value=v1",
                         "info dns: TXT record presented fqdn=_acme-challenge.x.nozone.test zone=\"(found by the provider)\" "
                         "provider=fake value=v2",
                         "info dns: TXT record removed fqdn=_acme-challenge.www.a.test zone=a.test provider=fake value=v1",
                         "info dns: TXT record removed fqdn=_acme-challenge.x.nozone.test zone=\"(found by the provider)\" "
                         "provider=fake value=v2"});
}
