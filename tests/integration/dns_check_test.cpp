// `certpilot dns-check` against the real DNS servers: BIND (RFC 2136 + TSIG) for a.test and
// PowerDNS (HTTP API) for b.test on loopback. No CA: the test value is presented, awaited at every
// authoritative nameserver, removed, and reported.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "support/dns_env.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> check_argv(const std::vector<std::string>& names, const std::vector<std::string>& provider_flags,
                                    const std::string& timeout = "30") {
  auto& env = dns_test_env();
  std::vector<std::string> argv = {certpilot_binary().string(), "dns-check"};
  for (const auto& n : names) argv.insert(argv.end(), {"-d", n});
  argv.insert(argv.end(), {"--dns-resolver", env.resolver(), "--nameserver-port", std::to_string(env.port),
                           "--propagation-interval", "1", "--propagation-timeout", timeout});
  argv.insert(argv.end(), provider_flags.begin(), provider_flags.end());
  return argv;
}

std::vector<std::string> rfc2136_flags() {
  auto& env = dns_test_env();
  const auto& key = env.bind->key("hmac-sha256");
  return {"--dns", "rfc2136", "--dns-opt", "server=" + env.bind->server(), "--dns-opt", "tsig-key-name=" + key.name,
          "--dns-opt", "tsig-algorithm=hmac-sha256", "--dns-opt", "tsig-secret-env=CERTPILOT_TEST_TSIG"};
}

std::vector<std::string> pdns_flags() {
  auto& env = dns_test_env();
  return {"--dns", "pdns", "--dns-opt", "api-url=" + env.pdns->api_url(), "--dns-opt",
          "api-key-env=CERTPILOT_TEST_PDNS_KEY"};
}

std::map<std::string, std::string> secrets_env() {
  auto& env = dns_test_env();
  return {{"CERTPILOT_TEST_TSIG", env.bind->key("hmac-sha256").secret}, {"CERTPILOT_TEST_PDNS_KEY", env.pdns->api_key()}};
}

CommandResult run_check(const std::vector<std::string>& argv) {
  return run_command(argv, secrets_env(), std::chrono::seconds(120));
}

std::string served_txt(const std::string& server_address, const std::string& name) {
  return dig_short(server_address, dns_test_env().port, name, "TXT");
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A hook that records what it was asked and publishes nothing.
fs::path silent_hook(const TempDir& tmp) {
  const auto hook = tmp / "hook.sh";
  write_file(hook, "#!/bin/sh\necho \"$1 $2\" >> \"" + (tmp / "calls.log").string() + "\"\nexit 0\n");
  fs::permissions(hook, fs::perms::owner_all);
  return hook;
}

}  // namespace

TEST_CASE("dns-check: a wildcard and its base through BIND; served by ns1.a.test, gone afterwards",
          "[integration][dns]") {
  auto argv = check_argv({"*.a.test", "a.test"}, rfc2136_flags());
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "dns-check through rfc2136"));
  CHECK(contains(r.out, "  *.a.test\n"));
  CHECK(contains(r.out, "  a.test\n"));
  CHECK(contains(r.out, "record:   _acme-challenge.a.test\n"));
  CHECK(contains(r.out, "zone:     a.test\n"));
  CHECK(contains(r.out, "served by every authoritative nameserver after "));
  CHECK(contains(r.out, "ns1.a.test (127.0.0.1:" + std::to_string(dns_test_env().port) + ")"));
  CHECK(contains(r.out, "cleaned up"));
  CHECK_FALSE(contains(r.out, "NOT cleaned up"));
  CHECK(contains(r.out, "ok: the DNS path works for 2 name(s)"));
  CHECK(served_txt("127.0.0.1", "_acme-challenge.a.test").empty());
  // The TSIG secret never reaches the output.
  const auto& secret = dns_test_env().bind->key("hmac-sha256").secret;
  CHECK_FALSE(contains(r.out, secret));
  CHECK_FALSE(contains(r.err, secret));
}

TEST_CASE("dns-check: through the PowerDNS API", "[integration][dns]") {
  auto argv = check_argv({"api.b.test"}, pdns_flags());
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "dns-check through pdns"));
  CHECK(contains(r.out, "record:   _acme-challenge.api.b.test\n"));
  CHECK(contains(r.out, "zone:     b.test\n"));
  CHECK(contains(r.out, "served by every authoritative nameserver after "));
  CHECK(contains(r.out, "cleaned up"));
  CHECK(served_txt("127.0.0.2", "_acme-challenge.api.b.test").empty());
  CHECK_FALSE(contains(r.out + r.err, dns_test_env().pdns->api_key()));
}

TEST_CASE("dns-check: CNAME delegation of _acme-challenge.www.a.test into b.test is followed and reported",
          "[integration][dns]") {
  auto argv = check_argv({"www.a.test"}, pdns_flags());
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "record:   _acme-challenge.www.b.test (CNAME from _acme-challenge.www.a.test)"));
  CHECK(contains(r.out, "zone:     b.test\n"));
  CHECK(contains(r.out, "cleaned up"));
  CHECK(served_txt("127.0.0.2", "_acme-challenge.www.b.test").empty());
}

TEST_CASE("dns-check: a value never served fails at the deadline naming each nameserver, cleaned up",
          "[integration][dns]") {
  TempDir tmp;
  const auto hook = silent_hook(tmp);
  auto argv = check_argv({"slow.a.test"}, {"--dns", "exec", "--dns-opt", "program=" + hook.string()}, "3");
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "ns1.a.test"));
  CHECK(contains(r.err, "_acme-challenge.slow.a.test"));
  CHECK(contains(r.out, "failed after "));
  CHECK(contains(r.out, "cleaned up"));
  const auto calls = read_text(tmp / "calls.log");
  CHECK(contains(calls, "present _acme-challenge.slow.a.test"));
  CHECK(contains(calls, "cleanup _acme-challenge.slow.a.test"));
}

TEST_CASE("dns-check: SIGINT while waiting still cleans up and exits 130", "[integration][dns]") {
  TempDir tmp;
  const auto hook = silent_hook(tmp);
  auto inner = check_argv({"interrupted.a.test"}, {"--dns", "exec", "--dns-opt", "program=" + hook.string()}, "60");
  std::vector<std::string> argv = {"timeout", "--preserve-status", "--signal=INT", "2"};
  argv.insert(argv.end(), inner.begin(), inner.end());
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 130);
  CHECK(contains(r.err, "cancelled"));
  const auto calls = read_text(tmp / "calls.log");
  CHECK(contains(calls, "present _acme-challenge.interrupted.a.test"));
  CHECK(contains(calls, "cleanup _acme-challenge.interrupted.a.test"));
}

TEST_CASE("dns-check: a second SIGINT exits at once and names the TXT records it leaves", "[integration][dns]") {
  TempDir tmp;
  // Presents at once; removing takes long, so the second signal arrives during the clean-up.
  const auto hook = tmp / "slow-cleanup.sh";
  write_file(hook, "#!/bin/sh\necho \"$1 $2\" >> \"" + (tmp / "calls.log").string() +
                       "\"\n[ \"$1\" = cleanup ] && sleep 20\nexit 0\n");
  fs::permissions(hook, fs::perms::owner_all);
  auto inner = check_argv({"twice.a.test"}, {"--dns", "exec", "--dns-opt", "program=" + hook.string()}, "60");
  std::string cmd;
  for (const auto& a : inner) cmd += " '" + a + "'";
  // The first INT once "present" is logged, the second 1 s later.
  const std::string calls = (tmp / "calls.log").string();
  const std::vector<std::string> argv = {
      "sh", "-c",
      cmd + " & pid=$!; i=0; while ! grep -q present '" + calls + "' 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; "
            "i=$((i+1)); done; sleep 0.5; kill -INT $pid; sleep 1; kill -INT $pid; wait $pid"};
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 130);
  CHECK(contains(r.err, "interrupted again: exiting without clean-up; left behind, remove by hand:"));
  CHECK(contains(r.err, "TXT _acme-challenge.twice.a.test \""));
  CHECK(contains(r.err, "(exec)"));
  CHECK(contains(read_text(tmp / "calls.log"), "cleanup _acme-challenge.twice.a.test"));  // it had begun
}

TEST_CASE("dns-check: CAA forbidding the named CA refuses before anything is written", "[integration][dns]") {
  auto argv = check_argv({"forbidden.a.test"}, rfc2136_flags());
  argv.insert(argv.end(), {"--caa-identity", "ca.test"});
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "other-ca.example"));
  CHECK(served_txt("127.0.0.1", "_acme-challenge.forbidden.a.test").empty());
}

TEST_CASE("dns-check: CAA allowing the named CA is reported", "[integration][dns]") {
  auto argv = check_argv({"caa.a.test"}, rfc2136_flags());
  argv.insert(argv.end(), {"--caa-identity", "ca.test"});
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "CAA caa.a.test: allowed by CAA at a.test"));
}

TEST_CASE("dns-check: CAA accounturi is reported as not checked; validationmethods without dns-01 refuses",
          "[integration][dns]") {
  auto& env = dns_test_env();
  const auto& key = env.bind->key("hmac-sha256");
  const std::string script = "server 127.0.0.1 " + std::to_string(env.port) +
                             "\nzone a.test\n"
                             "update add acct.a.test 60 CAA 0 issue \"ca.test; accounturi=https://ca.test/acme/acct/7\"\n"
                             "update add http-only.a.test 60 CAA 0 issue \"ca.test; validationmethods=http-01\"\nsend\n";
  auto added = run_command({"nsupdate", "-y", "hmac-sha256:" + key.name + ":" + key.secret}, {}, std::chrono::seconds(20), script);
  INFO(added.err);
  REQUIRE(added.exit_code == 0);

  auto argv = check_argv({"acct.a.test"}, rfc2136_flags());
  argv.insert(argv.end(), {"--caa-identity", "ca.test"});
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "accounturi=https://ca.test/acme/acct/7 in acct.a.test. 60 IN CAA 0 issue"));
  CHECK(contains(r.out, "was not checked (no account URL given): dns-check opens no account, issue and renew check it"));

  auto refused_argv = check_argv({"http-only.a.test"}, rfc2136_flags());
  refused_argv.insert(refused_argv.end(), {"--caa-identity", "ca.test"});
  auto refused = run_check(refused_argv);
  INFO(describe(refused_argv, refused));
  CHECK(refused.exit_code == 2);
  CHECK(contains(refused.err, "CAA check for http-only.a.test: the CA (ca.test) may not issue: http-only.a.test. 60 IN "
                              "CAA 0 issue \"ca.test; validationmethods=http-01\" names the CA, but its "
                              "validationmethods=http-01 does not include dns-01"));
  CHECK_FALSE(contains(refused.err, "CAA: CAA"));
  CHECK(served_txt("127.0.0.1", "_acme-challenge.http-only.a.test").empty());
}

TEST_CASE("dns-check: a wrong TSIG secret fails naming the server, secret not printed", "[integration][dns]") {
  auto argv = check_argv({"badkey.a.test"}, rfc2136_flags());
  auto env = secrets_env();
  env["CERTPILOT_TEST_TSIG"] = "c2VjcmV0IHRoYXQgaXMgd3Jvbmc=";
  auto r = run_command(argv, env, std::chrono::seconds(120));
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code != 0);
  CHECK(contains(r.err, dns_test_env().bind->server()));
  CHECK_FALSE(contains(r.out + r.err, "c2VjcmV0IHRoYXQgaXMgd3Jvbmc="));
  CHECK(served_txt("127.0.0.1", "_acme-challenge.badkey.a.test").empty());
}

namespace {

// A hook that fails both verbs the way a provider with a revoked token does.
fs::path refusing_hook(const TempDir& tmp, bool present_fails) {
  const auto hook = tmp / "hook.sh";
  write_file(hook, "#!/bin/sh\necho \"$1 $2\" >> \"" + (tmp / "calls.log").string() + "\"\n" +
                       (present_fails ? "" : "[ \"$1\" = present ] && exit 0\n") +
                       "echo 'HTTP 401: token revoked' >&2\nexit 1\n");
  fs::permissions(hook, fs::perms::owner_all);
  return hook;
}

std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("certpilot dns-check: error: ", 0) == 0) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("dns-check: a provider that cannot add gives one error, the cause, and no false 'remove by hand'",
          "[integration][dns]") {
  TempDir tmp;
  const auto hook = refusing_hook(tmp, true);
  auto argv = check_argv({"refused.a.test"}, {"--dns", "exec", "--dns-opt", "program=" + hook.string()}, "3");
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 1);
  const auto errors = error_lines(r.err);
  REQUIRE(errors.size() == 1);
  CHECK(contains(errors[0], "adding TXT _acme-challenge.refused.a.test"));
  CHECK(contains(errors[0], "HTTP 401: token revoked"));
  CHECK_FALSE(contains(r.out + r.err, "by hand"));
  CHECK_FALSE(contains(r.err, "could not remove"));
  CHECK(contains(r.out, "record:   _acme-challenge.refused.a.test (nothing written)"));
  // The removal was still tried, in case the provider wrote it before failing.
  const auto calls = read_text(tmp / "calls.log");
  CHECK(contains(calls, "present _acme-challenge.refused.a.test"));
  CHECK(contains(calls, "cleanup _acme-challenge.refused.a.test"));
}

TEST_CASE("dns-check: a value written and not removable is reported after the cause, by name and value",
          "[integration][dns]") {
  TempDir tmp;
  const auto hook = refusing_hook(tmp, false);  // adds (says it did), cannot remove
  auto argv = check_argv({"stuck.a.test"}, {"--dns", "exec", "--dns-opt", "program=" + hook.string()}, "2");
  auto r = run_check(argv);
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  CHECK(r.exit_code == 1);
  const auto errors = error_lines(r.err);
  REQUIRE(errors.size() == 2);
  CHECK(contains(errors[0], "propagation check"));  // the cause: never served
  CHECK(contains(errors[1], "could not remove 1 TXT record(s); remove them by hand"));
  CHECK(contains(errors[1], "removing TXT _acme-challenge.stuck.a.test \"certpilot-dns-check-"));
  CHECK(contains(r.out, "NOT cleaned up: remove the TXT value by hand"));
}

TEST_CASE("dns-check: a secret pasted into an -env option is refused without being printed", "[integration][dns]") {
  const std::string pasted = "c2VjcmV0IHRoYXQgaXMgbm90IGEgbmFtZQ==";
  const std::vector<std::string> argv = {certpilot_binary().string(), "dns-check", "-d", "a.test", "--dns", "rfc2136",
                                         "--dns-opt", "server=127.0.0.1:1", "--dns-opt", "tsig-key-name=k",
                                         "--dns-opt", "tsig-secret-env=" + pasted};
  auto r = run_command(argv, {}, std::chrono::seconds(30));
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "certpilot dns-check: error: DNS provider: rfc2136: tsig-secret-env must name an environment variable "
                 "(letters, digits, _), not hold the secret itself\n");
  CHECK_FALSE(contains(r.out + r.err, pasted));
}
