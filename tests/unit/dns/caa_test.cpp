// dns/caa: the RFC 8659 §4.2 issue-value grammar and the RFC 8657 parameters (validationmethods,
// accounturi), against a scripted DNS server.
#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "dns/caa.hpp"
#include "unit/dns/fake_dns_server.hpp"

using namespace certpilot;
using util::Errc;

namespace {

const std::string kAccount = "https://ca.test/acme/acct/1";

// Serves CAA records at names (everything else: NXDOMAIN).
class CaaZone {
 public:
  void add(const std::string& name, const std::string& tag, const std::string& value) {
    std::lock_guard lock(mu_);
    records_.insert({name, {tag, value}});
  }
  void clear() {
    std::lock_guard lock(mu_);
    records_.clear();
  }
  std::unique_ptr<dns::Resolver> resolver() {
    auto r = dns::Resolver::create({{server_.server()}, std::chrono::milliseconds(500), 2, true, false});
    REQUIRE(r);
    return std::move(*r);
  }

 private:
  std::mutex mu_;
  std::multimap<std::string, std::pair<std::string, std::string>> records_;  // guarded by mu_; name -> tag, value
  test::FakeDnsServer server_{[this](const dns::wire::Question& q) {
    std::vector<dns::wire::ResourceRecord> rrs;
    std::lock_guard lock(mu_);
    for (auto [it, end] = records_.equal_range(dns::wire::canonical_name(q.name)); it != end; ++it) {
      rrs.push_back(test::rr_caa(it->first, it->second.first, it->second.second));
    }
    return test::answer(q, rrs.empty() ? dns::wire::rcode::kNxDomain : dns::wire::rcode::kNoError, rrs);
  }};
};

dns::CaaRequester ca_test(std::optional<std::string> account = std::nullopt) { return {{"ca.test"}, account}; }

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("CAA issue values: issuer and parameters by the RFC 8659 grammar", "[dns][caa]") {
  auto v = dns::parse_caa_issue_value(" CA.Test ;\tvalidationmethods = dns-01,http-01 ; accounturi=https://ca.test/a/1 ");
  REQUIRE(v);
  CHECK(v->issuer == "ca.test");
  using P = std::pair<std::string, std::string>;
  CHECK(v->parameters == std::vector<P>{{"validationmethods", "dns-01,http-01"}, {"accounturi", "https://ca.test/a/1"}});
  CHECK(dns::parse_caa_issue_value(";").value().issuer.empty());
  CHECK(dns::parse_caa_issue_value("").value().parameters.empty());
  CHECK(dns::parse_caa_issue_value("ca.test;").value().parameters.empty());
  CHECK(dns::parse_caa_issue_value("; foo=bar").value().parameters == std::vector<P>{{"foo", "bar"}});
  CHECK(dns::parse_caa_issue_value("ca.test; empty=").value().parameters == std::vector<P>{{"empty", ""}});
  CHECK(dns::caa_issuer_domain("ca.test; validationmethods=dns-01") == "ca.test");
}

TEST_CASE("CAA issue values: malformed ones are errors saying what is wrong", "[dns][caa]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"ca.test; validationmethods dns-01", "parameter \"validationmethods dns-01\" has no \"=\""},
      {"ca.test; a=b;; c=d", "an empty parameter"},
      {"ca.test; a=b;", "an empty parameter"},
      {"ca.test; -x=1", "parameter tag \"-x\" is not letters, digits and inner hyphens"},
      {"ca.test; a=b c", "the value of parameter a (\"b c\") has a blank or control character"},
      {"ca test", "issuer \"ca test\" is not a domain name"},
      {"ca..test", "issuer \"ca..test\" is not a domain name"},
      {"-ca.test", "issuer \"-ca.test\" is not a domain name"},
  };
  for (const auto& [value, why] : bad) {
    INFO(value);
    auto r = dns::parse_caa_issue_value(value);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::StartsWith(why));
    CHECK(dns::caa_issuer_domain(value).empty());
  }
}

TEST_CASE("CAA validationmethods without dns-01 refuses naming the record and the parameter", "[dns][caa]") {
  CaaZone z;
  z.add("a.test", "issue", "ca.test; validationmethods=http-01");
  auto r = z.resolver();
  auto v = dns::check_caa(*r, "www.a.test", false, ca_test(kAccount));
  REQUIRE_FALSE(v);
  CHECK(v.error().code == Errc::invalid_input);
  CHECK(v.error().message ==
        "CAA check for www.a.test: the CA (ca.test) may not issue: a.test. 60 IN CAA 0 issue "
        "\"ca.test; validationmethods=http-01\" names the CA, but its validationmethods=http-01 does not include "
        "dns-01, the only method certpilot uses (RFC 8657 §4): add dns-01 to that list");
  CHECK(occurrences(v.error().message, "CAA check") == 1);

  z.clear();
  z.add("a.test", "issue", "ca.test; validationmethods=http-01,dns-01");
  CHECK(dns::check_caa(*r, "www.a.test", false, ca_test(kAccount)));
  // A parameter RFC 8657 does not define is ignored, as a CA ignores it (RFC 8659 §4.2).
  z.clear();
  z.add("a.test", "issue", "ca.test; policy=ev; ValidationMethods=http-01");
  CHECK(dns::check_caa(*r, "www.a.test", false, ca_test(kAccount)));
}

TEST_CASE("CAA accounturi is compared with the account when it is known", "[dns][caa]") {
  CaaZone z;
  z.add("a.test", "issue", "ca.test; accounturi=https://ca.test/acme/acct/2");
  auto r = z.resolver();
  auto other = dns::check_caa(*r, "*.a.test", false, ca_test(kAccount));
  REQUIRE_FALSE(other);
  CHECK_THAT(other.error().message,
             Catch::StartsWith("CAA check for *.a.test: the CA (ca.test) may not issue: a.test. 60 IN CAA 0 issue "
                               "\"ca.test; accounturi=https://ca.test/acme/acct/2\" names the CA, but its "
                               "accounturi=https://ca.test/acme/acct/2 is not this account (" + kAccount));

  z.clear();
  z.add("a.test", "issue", "ca.test; accounturi=" + kAccount);
  auto ours = dns::check_caa(*r, "www.a.test", false, ca_test(kAccount));
  REQUIRE(ours);
  CHECK(ours->unchecked.empty());
}

TEST_CASE("CAA accounturi without a known account is allowed and reported as not checked", "[dns][caa]") {
  CaaZone z;
  z.add("a.test", "issue", "ca.test; accounturi=https://ca.test/acme/acct/2");
  auto r = z.resolver();
  auto v = dns::check_caa(*r, "www.a.test", false, ca_test());
  REQUIRE(v);
  REQUIRE(v->unchecked.size() == 1);
  CHECK(v->unchecked[0] == "accounturi=https://ca.test/acme/acct/2 in a.test. 60 IN CAA 0 issue "
                           "\"ca.test; accounturi=https://ca.test/acme/acct/2\" was not checked (no account URL given)");
  // One record that authorizes outright makes the unchecked one irrelevant.
  z.add("a.test", "issue", "ca.test");
  auto both = dns::check_caa(*r, "www.a.test", false, ca_test());
  REQUIRE(both);
  CHECK(both->unchecked.empty());
}

TEST_CASE("CAA: one record naming the CA that authorizes is enough; malformed ones are named", "[dns][caa]") {
  CaaZone z;
  z.add("a.test", "issue", "ca.test; validationmethods=http-01");
  z.add("a.test", "issue", "ca.test; validationmethods=dns-01");
  auto r = z.resolver();
  CHECK(dns::check_caa(*r, "www.a.test", false, ca_test(kAccount)));

  z.clear();
  z.add("a.test", "issue", "ca.test; validationmethods dns-01");
  auto malformed = dns::check_caa(*r, "www.a.test", false, ca_test(kAccount));
  REQUIRE_FALSE(malformed);
  CHECK_THAT(malformed.error().message,
             Catch::Contains("names the CA, but its value is not RFC 8659 §4.2 syntax (parameter "
                             "\"validationmethods dns-01\" has no \"=\"), so a CA ignores the record: fix the syntax"));

  // Another CA's record keeps the old message and its fix.
  z.clear();
  z.add("a.test", "issue", "other-ca.example; validationmethods=dns-01");
  auto foreign = dns::check_caa(*r, "www.a.test", false, ca_test(kAccount));
  REQUIRE_FALSE(foreign);
  CHECK_THAT(foreign.error().message, Catch::Contains("add a record such as a.test. CAA 0 issue \"ca.test\""));
}

TEST_CASE("CAA check errors say \"CAA check for\" once (also through check_caa_all)", "[dns][caa]") {
  CaaZone z;
  z.add("a.test", "issue", "other-ca.example");
  auto r = z.resolver();
  auto all = dns::check_caa_all(*r, {"www.a.test"}, ca_test(kAccount));
  REQUIRE_FALSE(all);
  CHECK_THAT(all.error().message, Catch::StartsWith("CAA check for www.a.test: the CA (ca.test) may not issue"));
  CHECK(occurrences(all.error().message, "CAA check") == 1);
}
