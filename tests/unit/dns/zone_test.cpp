// dns/zone against a scripted DNS server: nameserver addresses say what the resolver answered,
// and CNAME errors name their context once.
#include <catch2/catch.hpp>

#include "dns/dns01_solver.hpp"
#include "dns/resolver_lookup.hpp"
#include "dns/zone.hpp"
#include "unit/dns/fake_dns_server.hpp"
#include "util/log.hpp"

using namespace certpilot;
using util::Errc;
using namespace std::chrono_literals;

namespace {

namespace rc = dns::wire::rcode;
namespace type = dns::wire::type;

std::unique_ptr<dns::Resolver> resolver_for(const test::FakeDnsServer& server) {
  return test::resolver_for(server, std::chrono::milliseconds(200), 1);
}

// a.test has NS ns1..ns3; `addresses` scripts the answer for each name's A and AAAA questions.
using AddressScript = std::function<std::optional<dns::wire::Message>(const dns::wire::Question&)>;
test::FakeDnsServer nameservers(std::vector<std::string> names, AddressScript addresses) {
  return test::FakeDnsServer([names, addresses](const dns::wire::Question& q) -> std::optional<dns::wire::Message> {
    if (dns::wire::canonical_name(q.name) == "a.test" && q.type == type::kNs) {
      std::vector<dns::wire::ResourceRecord> rrs;
      for (const auto& n : names) rrs.push_back(test::rr_ns("a.test", n));
      return test::answer(q, rc::kNoError, rrs);
    }
    return addresses(q);
  });
}

}  // namespace

TEST_CASE("find_nameservers: SERVFAIL on the only NS's address is named as SERVFAIL", "[dns][zone]") {
  auto server = nameservers({"ns1.a.test"}, [](const dns::wire::Question& q) { return test::answer(q, rc::kServFail); });
  auto r = resolver_for(server);
  auto ns = dns::find_nameservers(*r, "a.test");
  REQUIRE_FALSE(ns);
  CHECK(ns.error().code == Errc::dns);
  CHECK(ns.error().message == "finding the nameservers of a.test: no address (A/AAAA) for ns1.a.test (SERVFAIL) at " +
                                  server.server());
}

TEST_CASE("find_nameservers: NXDOMAIN and no data and timeout and mixed answers are told apart", "[dns][zone]") {
  auto server = nameservers({"ns1.a.test", "ns2.a.test", "ns3.a.test"},
                            [](const dns::wire::Question& q) -> std::optional<dns::wire::Message> {
                              const std::string name = dns::wire::canonical_name(q.name);
                              if (name == "ns1.a.test") return test::answer(q, rc::kNxDomain);
                              if (name == "ns2.a.test") {
                                return test::answer(q, q.type == type::kA ? rc::kNoError : rc::kServFail);
                              }
                              return std::nullopt;  // ns3: silence
                            });
  auto r = resolver_for(server);
  auto ns = dns::find_nameservers(*r, "a.test");
  REQUIRE_FALSE(ns);
  CHECK(ns.error().message == "finding the nameservers of a.test: no address (A/AAAA) for ns1.a.test (NXDOMAIN), "
                              "ns2.a.test (A: no data, AAAA: SERVFAIL), ns3.a.test (no answer (timed out after 1 tries)) "
                              "at " + server.server());
}

TEST_CASE("find_nameservers: a nameserver without an address is returned with the reason and not logged", "[dns][zone]") {
  auto server = nameservers({"ns1.a.test", "ns2.a.test"}, [](const dns::wire::Question& q) {
    const std::string name = dns::wire::canonical_name(q.name);
    if (name == "ns1.a.test" && q.type == type::kA) return test::answer(q, rc::kNoError, {test::rr_a(name, "192.0.2.1")});
    if (name == "ns1.a.test") return test::answer(q, rc::kNoError);
    return test::answer(q, rc::kNxDomain);
  });
  auto r = resolver_for(server);
  std::vector<std::string> lines;
  util::set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  auto ns = dns::find_nameservers(*r, "a.test");
  util::set_log_sink(nullptr);
  REQUIRE(ns);
  REQUIRE(ns->size() == 2);
  CHECK(ns->at(0).addresses == std::vector<std::string>{"192.0.2.1"});
  CHECK(ns->at(0).no_address.empty());
  CHECK(ns->at(1).name == "ns2.a.test");
  CHECK(ns->at(1).addresses.empty());
  CHECK(ns->at(1).no_address == "NXDOMAIN");
  CHECK(lines.empty());  // the caller decides (propagation warns once per wait)
}

namespace {
class NullProvider final : public dns::Provider {
 public:
  std::string_view name() const override { return "null"; }
  util::Result<void> present(const dns::TxtRecord&) override { return util::ok(); }
  util::Result<void> cleanup(const dns::TxtRecord&) override { return util::ok(); }
};
}  // namespace

TEST_CASE("a CNAME loop found through the real lookup names \"following CNAMEs\" once", "[dns][zone]") {
  test::FakeDnsServer server([](const dns::wire::Question& q) -> std::optional<dns::wire::Message> {
    const std::string name = dns::wire::canonical_name(q.name);
    const std::string target = name == "_acme-challenge.loop.test" ? "hop.test" : "_acme-challenge.loop.test";
    auto cname = test::rr_ns(name, target);
    cname.type = type::kCname;
    return test::answer(q, rc::kNoError, {cname});
  });
  dns::LookupOptions lo;
  lo.resolvers = {server.server()};
  lo.query_timeout = 500ms;
  auto lookup = dns::ResolverLookup::create(lo);
  REQUIRE(lookup);
  NullProvider provider;
  dns::Dns01Solver solver({{"", &provider}}, **lookup);
  acme::Dns01Challenge c;
  c.identifier = "loop.test";
  c.txt_value = "v";
  auto r = solver.present({c});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "following CNAMEs of _acme-challenge.loop.test: CNAME loop _acme-challenge.loop.test -> "
                             "hop.test -> _acme-challenge.loop.test");
}
