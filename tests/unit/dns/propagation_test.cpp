// dns/propagation against a scripted DNS server and the fake clock: the wait lasts until the
// deadline whatever the interval, and says how long it really waited.
#include <catch2/catch.hpp>

#include <mutex>

#include "dns/propagation.hpp"
#include "unit/dns/fake_dns_server.hpp"
#include "util/log.hpp"

using namespace certpilot;
using util::Errc;
using namespace std::chrono_literals;

namespace {

namespace rc = dns::wire::rcode;
namespace type = dns::wire::type;

std::unique_ptr<dns::Resolver> resolver_for(const test::FakeDnsServer& server) {
  return test::resolver_for(server, std::chrono::milliseconds(500), 2);
}

// Zone a.test served by ns1.a.test (127.0.0.1, this server) and ns2.a.test, whose address
// lookups fail with SERVFAIL; the TXT value "v" appears once the fake clock reaches `visible_at`.
struct AuthoritativeZone {
  util::FakeClock clock{util::SysTime{} + std::chrono::hours(1000)};
  util::SysTime visible_at = util::SysTime::max();
  test::FakeDnsServer server{[this](const dns::wire::Question& q) -> std::optional<dns::wire::Message> {
    const std::string name = dns::wire::canonical_name(q.name);
    if (name == "a.test" && q.type == type::kNs) {
      return test::answer(q, rc::kNoError, {test::rr_ns("a.test", "ns1.a.test"), test::rr_ns("a.test", "ns2.a.test")});
    }
    if (name == "ns1.a.test") {
      return test::answer(q, rc::kNoError, q.type == type::kA ? std::vector{test::rr_a(name, "127.0.0.1")}
                                                               : std::vector<dns::wire::ResourceRecord>{});
    }
    if (name == "ns2.a.test") return test::answer(q, rc::kServFail);
    if (q.type == type::kTxt && clock.now() >= visible_at) return test::answer(q, rc::kNoError, {test::rr_txt(name, "v")});
    return test::answer(q, rc::kNoError);
  }};
  dns::PropagationOptions options() const {
    dns::PropagationOptions po;
    po.timeout = 120s;
    po.interval = 100s;
    po.query_timeout = 500ms;
    po.nameserver_port_override = server.port();
    return po;
  }
};

}  // namespace

TEST_CASE("propagation: an interval longer than what is left still waits until the deadline", "[dns][propagation]") {
  test::FakeDnsServer server([](const dns::wire::Question& q) { return test::answer(q, rc::kNoError); });
  auto lookup = resolver_for(server);
  util::FakeClock clock(util::SysTime{} + std::chrono::hours(1000));
  dns::PropagationOptions po;
  po.mode = dns::PropagationMode::resolvers;
  po.resolvers = {server.server()};
  po.timeout = 120s;
  po.interval = 100s;
  po.query_timeout = 500ms;
  const auto start = clock.now();
  auto r = dns::wait_for_propagation(*lookup, {{"_acme-challenge.a.test", "a.test", {"v"}}}, po, clock);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  // Rounds at 0s, 100s and, after a pause cut to 20s, at the deadline.
  CHECK(clock.now() - start == 120s);
  CHECK(server.count("_acme-challenge.a.test", type::kTxt) == 3);
  CHECK(r.error().message == "propagation check: not every server serves the TXT records after 120s (timeout 120s, "
                             "3 rounds): " + server.server() + " _acme-challenge.a.test: no TXT values (missing \"v\")");

  SECTION("a timeout shorter than the interval gets its final round too") {
    po.timeout = 1s;
    po.interval = 2s;
    const auto again = clock.now();
    auto short_wait = dns::wait_for_propagation(*lookup, {{"_acme-challenge.a.test", "a.test", {"v"}}}, po, clock);
    REQUIRE_FALSE(short_wait);
    CHECK(clock.now() - again == 1s);
    CHECK_THAT(short_wait.error().message, Catch::StartsWith("propagation check: not every server serves the TXT "
                                                             "records after 1s (timeout 1s, 2 rounds)"));
  }
}

TEST_CASE("propagation: a value that appears between the last interval and the deadline is seen", "[dns][propagation]") {
  AuthoritativeZone zone;
  zone.visible_at = zone.clock.now() + 110s;  // after the 100s round, before the 120s deadline
  auto lookup = resolver_for(zone.server);
  auto po = zone.options();
  const auto start = zone.clock.now();
  CHECK(dns::wait_for_propagation(*lookup, {{"_acme-challenge.a.test", "a.test", {"v"}}}, po, zone.clock));
  CHECK(zone.clock.now() - start == 120s);
}

TEST_CASE("propagation: a nameserver without an address is warned about once per wait", "[dns][propagation]") {
  AuthoritativeZone zone;
  zone.visible_at = zone.clock.now();
  auto lookup = resolver_for(zone.server);
  std::mutex mu;
  std::vector<std::string> lines;
  util::set_log_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  });
  // Two names in one zone: the nameservers are looked up, and the warning given, once.
  auto r = dns::wait_for_propagation(*lookup, {{"_acme-challenge.a.test", "a.test", {"v"}},
                                              {"_acme-challenge.www.a.test", "a.test", {"v"}}},
                                     zone.options(), zone.clock);
  util::set_log_sink(nullptr);
  CHECK(r);
  std::vector<std::string> warnings;
  for (const auto& l : lines) {
    if (l.find("nameserver has no address") != std::string::npos) warnings.push_back(l);
  }
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("ns2.a.test") && Catch::Contains("SERVFAIL"));
  CHECK(zone.server.count("a.test", type::kNs) == 1);
}
