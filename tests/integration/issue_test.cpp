// `certpilot issue`, revoke and account commands, end to end against the real Pebble.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "crypto/certificate.hpp"
#include "support/issue_helpers.hpp"
#include "support/loopback_http.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot::test;
namespace fs = std::filesystem;

namespace {

CommandResult run_ok(const std::vector<std::string>& argv) {
  auto r = run_command(argv);
  INFO(describe(argv, r));
  REQUIRE(r.exit_code == 0);
  return r;
}

std::vector<std::string> ca_args(const PebbleFixture& pebble, const fs::path& state) {
  return {"--directory", pebble.directory_url(), "--ca-bundle", pebble.ca_bundle_path(), "--state", state.string()};
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Orders Pebble has accepted so far (its log says "Added order ... to the db" for each).
std::size_t orders_seen(const PebbleFixture& pebble) {
  const auto log = read_file(fs::path(pebble.state_dir()) / "pebble.log");
  std::size_t n = 0;
  for (auto at = log.find("Added order"); at != std::string::npos; at = log.find("Added order", at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("issue: one name, then several names with a wildcard; records cleaned up", "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  run_ok(issue_argv(*pebble, {"one.example.test"}, tmp / "one", tmp / "state"));
  check_issued(*pebble, tmp / "one", {"one.example.test"});
  CHECK(pebble->txt_values("_acme-challenge.one.example.test").empty());

  const std::vector<std::string> names = {"example.test", "*.example.test", "www.other.test"};
  run_ok(issue_argv(*pebble, names, tmp / "multi", tmp / "state"));
  check_issued(*pebble, tmp / "multi", names);
  CHECK(pebble->txt_values("_acme-challenge.example.test").empty());
  CHECK(pebble->txt_values("_acme-challenge.www.other.test").empty());
  CHECK(mode_of(tmp / "state") == 0700);
}

TEST_CASE("issue: a second issuance replaces the set in one step and keeps the old one readable", "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  run_ok(issue_argv(*pebble, {"swap.example.test"}, tmp / "out", tmp / "state"));
  const auto first = check_issued(*pebble, tmp / "out", {"swap.example.test"});
  run_ok(issue_argv(*pebble, {"swap.example.test"}, tmp / "out", tmp / "state"));
  const auto second = check_issued(*pebble, tmp / "out", {"swap.example.test"});
  CHECK(first != second);
  CHECK(fs::is_symlink(tmp / "out"));
}

TEST_CASE("issue: bad input fails clearly and writes nothing", "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  run_ok(issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "state"));
  const auto before = read_file(tmp / "out" / "fullchain.pem");
  const auto before_key = read_file(tmp / "out" / "key.pem");
  // An issuance of keep.example.test through an exec hook with the script `body` (POSIX sh).
  const auto exec_hook_argv = [&](const std::string& body) {
    write_file(tmp / "hook.sh", "#!/bin/sh\n" + body);
    fs::permissions(tmp / "hook.sh", fs::perms::owner_all);
    return issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "state",
                      {"--dns", "exec", "--dns-opt", "program=" + (tmp / "hook.sh").string(), "--dns-resolver",
                       pebble->challtestsrv_dns(), "--propagation", "off", "--propagation-delay", "0"});
  };

  SECTION("malformed names") {
    for (const std::string& bad : std::vector<std::string>{"exa mple.com", "192.0.2.1", "", std::string(254, 'a'), "a.*.example.com"}) {
      auto argv = issue_argv(*pebble, {bad}, tmp / "out", tmp / "state");
      auto r = run_command(argv);
      INFO(describe(argv, r));
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("error:") != std::string::npos);
    }
    // A valid name whose _acme-challenge name would pass 253 characters: refused before ordering.
    const std::string label(63, 'a');
    const std::string long_name = label + "." + label + "." + label + "." + std::string(45, 'c') + ".test";
    auto argv = issue_argv(*pebble, {long_name}, tmp / "out", tmp / "state");
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("is too long for DNS-01") != std::string::npos);
    CHECK(r.err.find("order created") == std::string::npos);
  }
  SECTION("unreachable directory") {
    auto argv = issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "state");
    argv[std::find(argv.begin(), argv.end(), pebble->directory_url()) - argv.begin()] = "https://127.0.0.1:1/dir";
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("127.0.0.1:1") != std::string::npos);
  }
  SECTION("wrong CA bundle") {
    auto argv = issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "state");
    write_file(tmp / "other.pem", pebble->root_pem(0));  // a real root, but not the one of Pebble's HTTPS
    argv[std::find(argv.begin(), argv.end(), pebble->ca_bundle_path()) - argv.begin()] = (tmp / "other.pem").string();
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("--ca-bundle") != std::string::npos);
  }
  SECTION("--propagation authoritative through a resolver that cannot answer SOA: refused before ordering") {
    // challtestsrv's DNS answers TXT but not SOA (NOTIMP): no zone, so no nameservers to ask.
    auto argv = issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "state",
                           {"--dns-resolver", pebble->challtestsrv_dns()});
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("--propagation authoritative needs the zone of _acme-challenge.keep.example.test") != std::string::npos);
    CHECK(r.err.find("use --propagation resolvers") != std::string::npos);
    CHECK(r.err.find("order created") == std::string::npos);
  }
  SECTION("an exec hook that fails") {
    auto argv = exec_hook_argv("echo \"zone is read-only\" >&2\nexit 3\n");
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("zone is read-only") != std::string::npos);
  }
  SECTION("validation fails: wrong TXT value; records removed, authorization deactivated") {
    // The hook publishes a wrong value, so the CA's lookup fails; cleanup must still run.
    const auto log = tmp / "hook.log";
    auto argv = exec_hook_argv("echo \"$1 $2\" >> " + log.string() +
                               "\nif [ \"$1\" = present ]; then curl -s -d '{\"host\":\"'$2'.\",\"value\":\"wrong\"}' " +
                               pebble->challtestsrv_url() + "/set-txt; else curl -s -d '{\"host\":\"'$2'.\"}' " +
                               pebble->challtestsrv_url() + "/clear-txt; fi\n");
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("keep.example.test") != std::string::npos);
    const auto calls = read_file(log);
    CHECK(calls.find("present _acme-challenge.keep.example.test") != std::string::npos);
    CHECK(calls.find("cleanup _acme-challenge.keep.example.test") != std::string::npos);
    CHECK(pebble->txt_values("_acme-challenge.keep.example.test").empty());
  }
  SECTION("Ctrl-C during issuance: records removed, exit 130") {
    // The hook publishes the value, then interrupts certpilot as an operator's Ctrl-C would.
    const auto log = tmp / "hook.log";
    auto argv = exec_hook_argv("echo \"$1 $2\" >> " + log.string() +
                               "\nif [ \"$1\" = present ]; then curl -s -d '{\"host\":\"'$2'.\",\"value\":\"'$3'\"}' " +
                               pebble->challtestsrv_url() + "/set-txt; kill -INT $PPID; else curl -s -d '{\"host\":\"'$2'.\"}' " +
                               pebble->challtestsrv_url() + "/clear-txt; fi\n");
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 130);
    const auto calls = read_file(log);
    CHECK(calls.find("cleanup _acme-challenge.keep.example.test") != std::string::npos);
    CHECK(pebble->txt_values("_acme-challenge.keep.example.test").empty());
  }
  SECTION("output folder not writable") {
    auto argv = issue_argv(*pebble, {"keep.example.test"}, "/proc/certpilot-test/out", tmp / "state");
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 3);
  }
  SECTION("missing --agree-tos where the CA has terms") {
    auto argv = issue_argv(*pebble, {"keep.example.test"}, tmp / "out", tmp / "fresh-state");
    argv.erase(std::find(argv.begin(), argv.end(), "--agree-tos"));
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--agree-tos") != std::string::npos);
  }
  CHECK(read_file(tmp / "out" / "fullchain.pem") == before);
  CHECK(read_file(tmp / "out" / "key.pem") == before_key);
}

TEST_CASE("issue: --out is checked before any order, 'DIR/' on a new path works, folders 0700 under umask 000",
          "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;

  // A trailing '/' on a path whose parent does not exist either, under the widest umask.
  const mode_t saved = ::umask(0);
  const auto r = run_command(issue_argv(*pebble, {"slash.example.test"}, (tmp / "x" / "newdir").string() + "/",
                                        tmp / "state"));
  ::umask(saved);
  {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  CHECK(r.err.find("certificate issued") != std::string::npos);  // logged: its absence below means something
  check_issued(*pebble, tmp / "x" / "newdir", {"slash.example.test"});
  CHECK(fs::is_symlink(tmp / "x" / "newdir"));
  CHECK(mode_of(tmp / "x") == 0700);
  CHECK(mode_of(tmp / "x" / "newdir.versions") == 0700);
  CHECK(mode_of(tmp / "state") == 0700);
  const std::size_t orders = orders_seen(*pebble);
  CHECK(orders >= 1);

  // Something certpilot did not write at --out: refused before the account or any order.
  const auto refused = [&](const fs::path& out, const std::string& what) {
    auto argv = issue_argv(*pebble, {"early.example.test"}, out, tmp / "state");
    auto res = run_command(argv);
    INFO(describe(argv, res));
    CHECK(res.exit_code == 2);  // invalid_input, as write_output_dir reported it after issuance before
    CHECK(res.err.find("certificate issued") == std::string::npos);
    CHECK(res.err.find(out.string() + " already exists and was not written by certpilot (" + what + ")") !=
          std::string::npos);
    CHECK(orders_seen(*pebble) == orders);
    CHECK_FALSE(fs::exists(fs::path(out.string() + ".versions")));
  };
  write_file(tmp / "f", "keep\n");
  refused(tmp / "f", "a file");
  CHECK(read_file(tmp / "f") == "keep\n");
  fs::create_directory(tmp / "plain");
  write_file(tmp / "plain" / "cert.pem", "theirs\n");
  refused(tmp / "plain", "a plain folder");
  CHECK(read_file(tmp / "plain" / "cert.pem") == "theirs\n");
  fs::create_symlink("loop", tmp / "loop");
  refused(tmp / "loop", "a foreign symlink");
  CHECK(fs::is_symlink(tmp / "loop"));

  // DIR.versions cannot be made (a file is there; a path under /proc): exit 3, also before any order.
  const auto unwritable = [&](const fs::path& out, const std::string& says) {
    auto argv = issue_argv(*pebble, {"early.example.test"}, out, tmp / "state");
    auto res = run_command(argv);
    INFO(describe(argv, res));
    CHECK(res.exit_code == 3);
    CHECK(res.err.find("certificate issued") == std::string::npos);
    CHECK(res.err.find(says) != std::string::npos);
    CHECK(orders_seen(*pebble) == orders);
  };
  write_file(tmp / "o7.versions", "keep\n");
  unwritable(tmp / "o7", (tmp / "o7.versions").string() + ": exists and is not a folder");
  CHECK(read_file(tmp / "o7.versions") == "keep\n");
  unwritable("/proc/certpilot-test-out", "/proc/certpilot-test-out.versions");
}

TEST_CASE("issue: Pebble rejecting half of all nonces still issues", "[integration]") {
  PebbleOptions o;
  o.env = {{"PEBBLE_WFE_NONCEREJECT", "50"}};
  auto pebble = PebbleFixture::start(o);
  TempDir tmp;
  run_ok(issue_argv(*pebble, {"nonce.example.test", "*.nonce.example.test"}, tmp / "out", tmp / "state"));
  check_issued(*pebble, tmp / "out", {"nonce.example.test", "*.nonce.example.test"});
}

TEST_CASE("issue: external account binding required", "[integration]") {
  PebbleOptions o = PebbleOptions::deterministic();
  o.eab = true;
  auto pebble = PebbleFixture::start(o);
  TempDir tmp;
  auto without = run_command(issue_argv(*pebble, {"eab.example.test"}, tmp / "out", tmp / "state"));
  CHECK(without.exit_code == 2);
  CHECK(without.err.find("--eab-kid") != std::string::npos);
  write_file(tmp / "eab.key", PebbleFixture::kEabHmacKey);
  run_ok(issue_argv(*pebble, {"eab.example.test"}, tmp / "out", tmp / "state",
                    {"--eab-kid", PebbleFixture::kEabKid, "--eab-hmac-key-file", (tmp / "eab.key").string()}));
  check_issued(*pebble, tmp / "out", {"eab.example.test"});
  // The MAC key never reaches the output.
  CHECK(without.err.find(PebbleFixture::kEabHmacKey) == std::string::npos);
}

TEST_CASE("issue: --preferred-chain picks the alternate chain by its root's name", "[integration]") {
  PebbleOptions o = PebbleOptions::deterministic();
  o.env.push_back({"PEBBLE_ALTERNATE_ROOTS", "2"});
  auto pebble = PebbleFixture::start(o);
  TempDir tmp;
  for (int root = 0; root < 3; ++root) {
    auto root_cert = certpilot::crypto::Certificate::from_pem(pebble->root_pem(root));
    REQUIRE(root_cert.has_value());
    const auto out = tmp / ("out" + std::to_string(root));
    run_ok(issue_argv(*pebble, {"chain.example.test"}, out, tmp / "state",
                      {"--preferred-chain", root_cert->subject_cn()}));
    check_issued(*pebble, out, {"chain.example.test"}, root);
  }
}

TEST_CASE("revoke, key rollover and deactivation", "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto ca = ca_args(*pebble, tmp / "state");
  run_ok(issue_argv(*pebble, {"rev.example.test"}, tmp / "a", tmp / "state"));
  const auto serial = check_issued(*pebble, tmp / "a", {"rev.example.test"});
  CHECK(pebble->cert_status_by_serial(serial).find("Valid") != std::string::npos);
  // Refused before anything is sent: a negative reason, a reason that does not exist, the chain file.
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--cert", (tmp / "a" / "cert.pem").string(), "--reason=-5"},
                                             {"--cert", (tmp / "a" / "cert.pem").string(), "--reason", "7"},
                                             {"--cert", (tmp / "a" / "chain.pem").string()}}) {
    auto argv = with({certpilot_binary().string(), "revoke"}, bad);
    const auto r = run_command(with(argv, ca));
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
  }
  const auto chain_file = run_command(with({certpilot_binary().string(), "revoke", "--cert", (tmp / "a" / "chain.pem").string()}, ca));
  CHECK_THAT(chain_file.err, Catch::Contains("starts with a CA certificate") && Catch::Contains("pass cert.pem or fullchain.pem"));
  CHECK(pebble->cert_status_by_serial(serial).find("Valid") != std::string::npos);
  run_ok(with({certpilot_binary().string(), "revoke", "--cert", (tmp / "a" / "cert.pem").string(), "--reason", "4"}, ca));
  CHECK(pebble->cert_status_by_serial(serial).find("Revoked") != std::string::npos);

  // Revocation signed by the certificate's own key, without the account.
  run_ok(issue_argv(*pebble, {"rev2.example.test"}, tmp / "b", tmp / "state"));
  const auto serial2 = check_issued(*pebble, tmp / "b", {"rev2.example.test"});
  run_ok(with({certpilot_binary().string(), "revoke", "--cert", (tmp / "b" / "fullchain.pem").string(), "--key",
               (tmp / "b" / "key.pem").string()},
              ca));
  CHECK(pebble->cert_status_by_serial(serial2).find("Revoked") != std::string::npos);

  const auto shown = run_ok(with({certpilot_binary().string(), "account", "show"}, ca));
  CHECK(shown.out.find("status:     valid") != std::string::npos);
  const auto rolled = run_ok(with({certpilot_binary().string(), "account", "rollover"}, ca));
  const auto thumb = [](const std::string& s) { return s.substr(s.find("thumbprint")); };
  CHECK(thumb(shown.out) != thumb(rolled.out));
  run_ok(issue_argv(*pebble, {"after-rollover.example.test"}, tmp / "c", tmp / "state"));
  check_issued(*pebble, tmp / "c", {"after-rollover.example.test"});

  // A new --email for the existing account updates its contact at the CA and in the store.
  CHECK(shown.out.find("mailto:new@example.test") == std::string::npos);
  run_ok(issue_argv(*pebble, {"contact.example.test"}, tmp / "e", tmp / "state", {"--email", "new@example.test"}));
  const auto contact = run_ok(with({certpilot_binary().string(), "account", "show"}, ca));
  CHECK(contact.out.find("mailto:new@example.test") != std::string::npos);
  CHECK(contact.out.find("mailto:ops@example.test") != std::string::npos);  // issue_argv passes it too

  auto no_yes = run_command(with({certpilot_binary().string(), "account", "deactivate"}, ca));
  CHECK(no_yes.exit_code == 2);
  run_ok(with({certpilot_binary().string(), "account", "deactivate", "--yes"}, ca));
  auto refused = run_command(issue_argv(*pebble, {"after-deactivation.example.test"}, tmp / "d", tmp / "state"));
  INFO(refused.err);
  CHECK(refused.exit_code == 5);
  CHECK(refused.err.find("is deactivated") != std::string::npos);  // details: "a deactivated account ..." below
  CHECK_FALSE(fs::exists(tmp / "d"));
}

TEST_CASE("cli: an unknown option or command is named, not reported as a missing one", "[integration]") {
  const auto bin = certpilot_binary().string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{bin, "--bogus"}, "unknown option '--bogus'"},
      {{bin, "isue", "-d", "a.example.test"}, "unknown command or argument 'isue'"},
      {{bin, "issue", "--bogus"}, "unknown option '--bogus'"},
      {{bin, "issue", "-d", "a.example.test", "--bogus"}, "--bogus"},
  };
  for (const auto& [argv, expected] : cases) {
    auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(expected) != std::string::npos);
  }
  auto none = run_command({bin});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("subcommand is required") != std::string::npos);
}

TEST_CASE("cli: check-config, status, run and renew list a bad config's errors one per line; a folder is not a config",
          "[integration]") {
  TempDir tmp;
  const auto bin = certpilot_binary().string();
  const auto config = (tmp / "bad.toml").string();
  write_file(config,
             "[ca]\ndirectory = \"https://127.0.0.1:1/dir\"\nemail = \"mailto:x@y.example\"\nagree_tos = \"yes\"\n"
             "bogus = 1\n\n[[certificate]]\nname = \"BAD NAME\"\ndomains = [\"bad..x\", \"*.*.x\"]\ndns = \"nosuch\"\n");
  for (const std::string command : {"check-config", "status", "run", "renew"}) {
    const std::vector<std::string> argv = {bin, command, "--config", config};
    const auto r = run_command(argv, {}, std::chrono::seconds(20));
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(config + ":3:9: [ca] email must be a plain address") != std::string::npos);
    CHECK(r.err.find("\n" + config + ":9:12: invalid domain name \"bad..x\"") != std::string::npos);
    CHECK(r.err.find("\n" + config + ":10:7: ") != std::string::npos);
    CHECK(r.err.find("; " + config) == std::string::npos);  // not joined on one line
    CHECK(r.err.find("\ncertpilot " + command + ": 7 errors in " + config + "\n") != std::string::npos);

    const std::vector<std::string> folder = {bin, command, "--config", tmp.path().string()};
    const auto f = run_command(folder, {}, std::chrono::seconds(20));
    INFO(describe(folder, f));
    CHECK(f.exit_code == 3);
    CHECK(f.err == "certpilot " + command + ": error: --config " + tmp.path().string() +
                       " is a folder, not a config file; pass the file itself, e.g. --config " +
                       (tmp / "config.toml").string() + "\n");

    const std::vector<std::string> missing = {bin, command, "--config", (tmp / "nonexist.toml").string()};
    const auto m = run_command(missing, {}, std::chrono::seconds(20));
    INFO(describe(missing, m));
    CHECK(m.exit_code == 3);
    CHECK(m.err.find("--config " + (tmp / "nonexist.toml").string() + ": no such file") != std::string::npos);
  }
}

TEST_CASE("account and issue: no account, a bad --ca-bundle and a mailto: --email are exit 2 before connecting",
          "[integration]") {
  TempDir tmp;
  const auto bin = certpilot_binary().string();
  // Nothing listens here: exit 2 rather than 4 shows that no connection was tried.
  const std::string directory = "https://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/dir";
  write_file(tmp / "passwd", "root:x:0:0:root:/root:/bin/bash\n");
  const std::vector<std::string> ca = {"--directory", directory, "--state", (tmp / "state").string()};
  for (const std::string action : {"show", "rollover"}) {
    const auto argv = with({bin, "account", action}, ca);
    const auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no account for " + directory + " in " + (tmp / "state").string() +
                     "; run 'certpilot issue' first or pass the right --state") != std::string::npos);
  }
  const std::vector<std::string> issue = {bin, "issue", "-d", "x.example.test", "--out", (tmp / "out").string(),
                                          "--agree-tos", "--dns", "challtestsrv", "--dns-opt",
                                          "url=http://127.0.0.1:1"};
  const auto bundle = with(with(issue, ca), {"--ca-bundle", (tmp / "passwd").string()});
  const auto b = run_command(bundle);
  INFO(describe(bundle, b));
  CHECK(b.exit_code == 2);
  CHECK(b.err == "certpilot issue: error: --ca-bundle: CA bundle " + (tmp / "passwd").string() +
                     " is not a PEM certificate bundle (no -----BEGIN CERTIFICATE----- line); give the PEM file of the "
                     "root(s) that signed the server's HTTPS certificate\n");
  const auto shown = with(with({bin, "account", "show"}, ca), {"--ca-bundle", (tmp / "passwd").string()});
  CHECK(run_command(shown).exit_code == 2);
  // With --log-json the outcome is one more JSON object, with a time (stderr is not journald here).
  const auto json = with({bin, "--log-json", "--log-level", "off"}, with(with(std::vector<std::string>(issue.begin() + 1, issue.end()), ca),
                                                                          {"--ca-bundle", (tmp / "passwd").string()}));
  const auto j = run_command(json);
  INFO(describe(json, j));
  CHECK(j.exit_code == 2);
  CHECK(j.err.rfind("{\"time\":\"", 0) == 0);
  CHECK_THAT(j.err, Catch::Contains("\"level\":\"error\",\"module\":\"certpilot\",\"msg\":\"--ca-bundle: CA bundle ") &&
                        Catch::Contains("\"command\":\"issue\",\"exit_code\":\"2\"}\n"));
  write_file(tmp / "cert.pem", "not read: the bundle is checked first\n");
  const auto revoke =
      with(with({bin, "revoke", "--cert", (tmp / "cert.pem").string()}, ca), {"--ca-bundle", (tmp / "passwd").string()});
  const auto rv = run_command(revoke);
  INFO(describe(revoke, rv));
  CHECK(rv.exit_code == 2);
  CHECK(rv.err.find("certpilot revoke: error: --ca-bundle: CA bundle " + (tmp / "passwd").string()) == 0);

  const auto mailto = with(with(issue, ca), {"--email", "mailto:a@b.example"});
  const auto m = run_command(mailto);
  INFO(describe(mailto, m));
  CHECK(m.exit_code == 2);
  CHECK(m.err == "certpilot issue: error: --email mailto:a@b.example: write a plain address, without mailto: "
                 "(--email a@b.example)\n");
  // No account registered: the store may exist, its accounts/ holds nothing.
  CHECK((!fs::exists(tmp / "state" / "accounts") || fs::is_empty(tmp / "state" / "accounts")));
}

TEST_CASE("issue --profile: a name the CA does not list is exit 2 naming the list; a CA without profiles warns",
          "[integration]") {
  TempDir tmp;
  // A directory that advertises profiles (Debian's Pebble 2.4 has none): the check needs nothing more.
  LoopbackHttp ca([](const SeenRequest& req) -> std::optional<std::string> {
    if (req.target != "/dir") return canned("404 Not Found", {}, "");
    return canned("200 OK", {"Content-Type: application/json"},
                  R"({"newNonce":"http://127.0.0.1/nonce","newAccount":"http://127.0.0.1/acct",)"
                  R"("newOrder":"http://127.0.0.1/order","revokeCert":"http://127.0.0.1/revoke",)"
                  R"("keyChange":"http://127.0.0.1/key","meta":{"profiles":{"classic":"90 days",)"
                  R"("shortlived":"6 days"}}})");
  });
  const std::vector<std::string> argv = {
      certpilot_binary().string(), "issue", "-d", "p.example.test", "--out", (tmp / "out").string(), "--state",
      (tmp / "state").string(), "--directory", ca.url("/dir"), "--agree-tos", "--profile", "nosuchprofile",
      "--dns", "challtestsrv", "--dns-opt", "url=http://127.0.0.1:1"};
  const auto r = run_command(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("certificate profile \"nosuchprofile\" is not one the CA " + ca.url("/dir") +
                   " offers (classic, shortlived); use one of those") != std::string::npos);
  const auto seen = ca.requests();
  REQUIRE(seen.size() == 1);  // the directory only: no account, no order
  CHECK(seen[0].target == "/dir");

  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  const auto without = run_command(issue_argv(*pebble, {"plain.example.test"}, tmp / "plain", tmp / "state",
                                              {"--profile", "nosuchprofile"}));
  INFO(without.err);
  CHECK(without.exit_code == 0);  // the CA's default certificate, as the warning says
  CHECK(without.err.find("the CA advertises no certificate profiles: the profile asked for is ignored") !=
        std::string::npos);
  CHECK(without.err.find("profile=nosuchprofile") != std::string::npos);
  check_issued(*pebble, tmp / "plain", {"plain.example.test"});
}

TEST_CASE("a deactivated account is refused with where it is stored and how to get a new one", "[integration]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto ca = ca_args(*pebble, tmp / "state");
  const auto bin = certpilot_binary().string();
  run_ok(issue_argv(*pebble, {"first.example.test"}, tmp / "a", tmp / "state"));
  const auto host_dir = tmp / "state" / "accounts";
  std::vector<fs::path> accounts;
  for (const auto& host : fs::directory_iterator(host_dir)) {
    for (const auto& acct : fs::directory_iterator(host.path())) accounts.push_back(acct.path());
  }
  REQUIRE(accounts.size() == 1);
  const fs::path account_dir = accounts.front();
  const fs::path aside = tmp / "state" / ("deactivated-account-" + account_dir.filename().string());
  const std::string hint = "to register a new account, move that folder out of the way (mv " + account_dir.string() +
                           " " + aside.string() + ") and run again";

  const auto deactivated = run_ok(with({bin, "account", "deactivate", "--yes"}, ca));
  CHECK(deactivated.out.find("status:     deactivated") != std::string::npos);
  CHECK(deactivated.out.find("note:       the account can no longer be used; " + hint) != std::string::npos);

  for (const auto& argv : {issue_argv(*pebble, {"second.example.test"}, tmp / "b", tmp / "state"),
                           with({bin, "account", "show"}, ca), with({bin, "account", "rollover"}, ca)}) {
    const auto r = run_command(argv);
    INFO(describe(argv, r));
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("is deactivated ('certpilot account deactivate'), and the CA refuses it for good; " + hint) !=
          std::string::npos);
  }

  // Deactivated elsewhere (no mark in the folder): the CA's refusal gets the same advice.
  fs::remove(account_dir / "deactivated");
  const auto argv = issue_argv(*pebble, {"second.example.test"}, tmp / "b", tmp / "state");
  const auto r = run_command(argv);
  INFO(describe(argv, r));
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("Account has been deactivated; the account stored in " + account_dir.string() +
                   " is deactivated; " + hint) != std::string::npos);

  // Following the advice gets a new account.
  fs::rename(account_dir, aside);
  run_ok(issue_argv(*pebble, {"second.example.test"}, tmp / "b", tmp / "state"));
  check_issued(*pebble, tmp / "b", {"second.example.test"});
}
