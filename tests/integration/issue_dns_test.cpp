// `certpilot issue` through real DNS: BIND (RFC 2136 + TSIG) and PowerDNS (HTTP API) on loopback,
// Pebble validating through BIND. Zones, CNAME delegation, CAA, propagation and clean-up.
#include <catch2/catch.hpp>

#include <fstream>

#include "support/dns_env.hpp"
#include "support/issue_helpers.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot::test;
namespace fs = std::filesystem;

namespace {

PebbleFixture& pebble_through_bind() {
  static std::unique_ptr<PebbleFixture> pebble = [] {
    PebbleOptions o = PebbleOptions::deterministic();
    o.dns_server = dns_test_env().resolver();  // Pebble validates through the real DNS
    return PebbleFixture::start(o);
  }();
  return *pebble;
}

// The DNS flags every test shares: resolvers and nameservers on the test port, quick polling.
std::vector<std::string> dns_flags(const std::vector<std::string>& provider_flags, const std::string& timeout = "30") {
  auto& env = dns_test_env();
  std::vector<std::string> flags = {"--dns-resolver", env.resolver(), "--nameserver-port", std::to_string(env.port),
                                    "--propagation-interval", "1", "--propagation-timeout", timeout};
  flags.insert(flags.end(), provider_flags.begin(), provider_flags.end());
  return flags;
}

std::vector<std::string> rfc2136_flags() {
  auto& env = dns_test_env();
  const auto& key = env.bind->key("hmac-sha256");
  return {"--dns", "rfc2136", "--dns-opt", "server=" + env.bind->server(), "--dns-opt", "tsig-key-name=" + key.name,
          "--dns-opt", "tsig-algorithm=hmac-sha256", "--dns-opt", "tsig-secret-env=CERTPILOT_TEST_TSIG"};
}

// BIND (Pebble's resolver) caches the NXDOMAIN of our lookups for b.test for about a second even
// with a zero negative TTL, so the PowerDNS cases let caches settle before the CA looks.
std::vector<std::string> pdns_flags() {
  auto& env = dns_test_env();
  return {"--propagation-settle", "2", "--dns", "pdns", "--dns-opt", "api-url=" + env.pdns->api_url(), "--dns-opt", "api-key-env=CERTPILOT_TEST_PDNS_KEY"};
}

std::map<std::string, std::string> secrets_env() {
  auto& env = dns_test_env();
  return {{"CERTPILOT_TEST_TSIG", env.bind->key("hmac-sha256").secret}, {"CERTPILOT_TEST_PDNS_KEY", env.pdns->api_key()}};
}

CommandResult run_issue(const std::vector<std::string>& argv) {
  return run_command(argv, secrets_env(), std::chrono::seconds(180));
}

// Adds a CAA record to a.test on BIND with nsupdate (TSIG), independently of our own code.
void add_caa(const std::string& name, const std::string& value) {
  auto& env = dns_test_env();
  const auto& key = env.bind->key("hmac-sha256");
  const std::string script = "server 127.0.0.1 " + std::to_string(env.port) + "\nzone a.test\nupdate add " + name +
                             " 60 CAA 0 issue \"" + value + "\"\nsend\n";
  auto r = run_command({"nsupdate", "-y", "hmac-sha256:" + key.name + ":" + key.secret}, {}, std::chrono::seconds(20), script);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string served_txt(const std::string& name) {
  auto& env = dns_test_env();
  return dig_short("127.0.0.1", env.port, name, "TXT");
}

}  // namespace

TEST_CASE("rfc2136: a wildcard and its base name through BIND; records gone afterwards", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  const std::vector<std::string> names = {"a.test", "*.a.test"};
  auto argv = issue_argv(pebble, names, tmp / "out", tmp / "state", dns_flags(rfc2136_flags()));
  argv.insert(argv.end(), {"--caa-identity", "ca.test"});
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  REQUIRE(r.exit_code == 0);
  check_issued(pebble, tmp / "out", names);
  CHECK(served_txt("_acme-challenge.a.test").empty());
  // The TSIG secret never reaches the output.
  CHECK(r.err.find(dns_test_env().bind->key("hmac-sha256").secret) == std::string::npos);
}

TEST_CASE("pdns: issuance through the PowerDNS API", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  auto argv = issue_argv(pebble, {"api.b.test"}, tmp / "out", tmp / "state", dns_flags(pdns_flags()));
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  REQUIRE(r.exit_code == 0);
  check_issued(pebble, tmp / "out", {"api.b.test"});
  CHECK(served_txt("_acme-challenge.api.b.test").empty());
}

TEST_CASE("CNAME delegation: _acme-challenge.www.a.test points into b.test on PowerDNS", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  auto argv = issue_argv(pebble, {"www.a.test"}, tmp / "out", tmp / "state", dns_flags(pdns_flags()));
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("_acme-challenge.www.b.test") != std::string::npos);
  check_issued(pebble, tmp / "out", {"www.a.test"});
  CHECK(served_txt("_acme-challenge.www.b.test").empty());
}

TEST_CASE("CAA forbidding the CA refuses before any order exists", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  auto argv = issue_argv(pebble, {"forbidden.a.test"}, tmp / "out", tmp / "state", dns_flags(rfc2136_flags()));
  argv.insert(argv.end(), {"--caa-identity", "ca.test"});
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("other-ca.example") != std::string::npos);
  CHECK(r.err.find("order created") == std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "out"));
}

TEST_CASE("CAA parameters of RFC 8657 that exclude us refuse before any order exists", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  add_caa("http-only.a.test", "ca.test; validationmethods=http-01");
  add_caa("other-account.a.test", "ca.test; accounturi=https://ca.test/acme/acct/999999");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http-only.a.test", "its validationmethods=http-01 does not include dns-01"},
      // The account is open by then, so its URL is compared.
      {"other-account.a.test", "its accounturi=https://ca.test/acme/acct/999999 is not this account (https://"},
  };
  for (const auto& [name, why] : cases) {
    TempDir tmp;
    auto argv = issue_argv(pebble, {name}, tmp / "out", tmp / "state", dns_flags(rfc2136_flags()));
    argv.insert(argv.end(), {"--caa-identity", "ca.test"});
    auto r = run_issue(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("CAA check for " + name + ": the CA (ca.test) may not issue: " + name + ". 60 IN CAA 0 issue") !=
          std::string::npos);
    CHECK(r.err.find(why) != std::string::npos);
    CHECK(r.err.find("CAA: CAA") == std::string::npos);
    CHECK(r.err.find("order created") == std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "out"));
  }
}

TEST_CASE("a wrong TSIG secret fails naming the server, nothing left behind", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  auto argv = issue_argv(pebble, {"badkey.a.test"}, tmp / "out", tmp / "state", dns_flags(rfc2136_flags()));
  auto env = secrets_env();
  env["CERTPILOT_TEST_TSIG"] = "c2VjcmV0IHRoYXQgaXMgd3Jvbmc=";
  auto r = run_command(argv, env, std::chrono::seconds(120));
  INFO(describe(argv, r));
  CHECK(r.exit_code != 0);
  CHECK(r.err.find(dns_test_env().bind->server()) != std::string::npos);
  CHECK(served_txt("_acme-challenge.badkey.a.test").empty());
  CHECK_FALSE(fs::exists(tmp / "out"));
}

TEST_CASE("propagation deadline: the error lists each nameserver and what it answered", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  // A hook that says it published the value but did not.
  write_file(tmp / "hook.sh", "#!/bin/sh\nexit 0\n");
  fs::permissions(tmp / "hook.sh", fs::perms::owner_all);
  auto flags = dns_flags({"--dns", "exec", "--dns-opt", "program=" + (tmp / "hook.sh").string()}, "3");
  auto argv = issue_argv(pebble, {"slow.a.test"}, tmp / "out", tmp / "state", flags);
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("ns1.a.test") != std::string::npos);
  CHECK(r.err.find("deactivated pending authorization") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "out"));
}

TEST_CASE("a DNS API that cannot be reached: the cause, and no false 'clean-up failed'", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  // Nothing listens there: present fails, and so does the best-effort removal of what it never wrote.
  const std::string url = "http://127.0.0.1:" + std::to_string(free_tcp_port());
  auto argv = issue_argv(pebble, {"unreachable.a.test"}, tmp / "out", tmp / "state",
                         {"--dns", "challtestsrv", "--dns-opt", "url=" + url});
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("challtestsrv: adding TXT _acme-challenge.unreachable.a.test") != std::string::npos);
  CHECK(r.err.find(url) != std::string::npos);
  CHECK(r.err.find("clean-up") == std::string::npos);
  CHECK(r.err.find("by hand") == std::string::npos);
  CHECK(r.err.find("could not remove") == std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "out"));
}

TEST_CASE("records written and not removable follow the order's own error, each named", "[integration][dns]") {
  auto& pebble = pebble_through_bind();
  TempDir tmp;
  // Says it published the value (it did not), and cannot remove it.
  write_file(tmp / "hook.sh", "#!/bin/sh\n[ \"$1\" = present ] && exit 0\necho 'HTTP 401' >&2\nexit 1\n");
  fs::permissions(tmp / "hook.sh", fs::perms::owner_all);
  auto flags = dns_flags({"--dns", "exec", "--dns-opt", "program=" + (tmp / "hook.sh").string()}, "2");
  auto argv = issue_argv(pebble, {"stuck.a.test"}, tmp / "out", tmp / "state", flags);
  auto r = run_issue(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code == 1);
  const std::string prefix = "certpilot issue: error: ";
  const auto error = r.err.find(prefix);
  REQUIRE(error != std::string::npos);
  const std::string line = r.err.substr(error, r.err.find('\n', error) - error);
  // One error: the cause first, then what is left in the DNS, by name and value.
  CHECK(r.err.find("error", error + prefix.size()) == std::string::npos);
  const auto cause = line.find("propagation check");
  const auto left = line.find("DNS clean-up: could not remove 1 TXT record(s); remove them by hand");
  REQUIRE(cause != std::string::npos);
  REQUIRE(left != std::string::npos);
  CHECK(cause < left);
  CHECK(line.find("exec: removing TXT _acme-challenge.stuck.a.test \"", left) != std::string::npos);
  CHECK(line.find("HTTP 401", left) != std::string::npos);
}
