// `certpilot run` (the renewal daemon) as a process against the real Pebble + challtestsrv:
// issuing and renewing 20 certificates, kill -9 during renewals, SIGHUP add/remove/broken config,
// two daemons on one store, SIGTERM during an order, the embedded listener following renewals,
// deploy hook failures and recorded DNS failures across a restart.
//
// Renewals are made to happen by a renewal period: renew_before = (lifetime of a fresh Pebble
// certificate) - X makes every certificate due X seconds after it was issued. Every wait below is a
// bounded poll with a generous deadline; nothing asserts on how long something took.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <iostream>
#include <set>
#include <thread>

#include "store/meta.hpp"
#include "util/time.hpp"
#include "support/daemon_helpers.hpp"
#include "support/issue_helpers.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {


// A [dns.slow] setup: the exec hook, then propagation "off", which waits a fixed 30 s after
// presenting, so an order stays in flight long enough to be interrupted.
std::string slow_exec_dns(const fs::path& hook, const PebbleFixture& pebble) {
  return "[dns.slow]\nprovider = \"exec\"\noptions = { program = \"" + hook.string() +
         "\" }\npropagation = \"off\"\nresolvers = [\"" + pebble.challtestsrv_dns() + "\"]\n";
}

void check_all_consistent(const fs::path& store, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    INFO("certificate " << n);
    CHECK(store_inconsistency(store, n).empty());
  }
}

// An exec DNS hook (PROGRAM present|cleanup FQDN VALUE) writing to challtestsrv and logging each call.
fs::path write_exec_hook(const TempDir& tmp, const PebbleFixture& pebble, const std::string& file,
                         const std::string& present_extra = "") {
  const fs::path hook = tmp / file;
  const fs::path calls = tmp / (file + ".calls");
  write_file(hook, "#!/bin/sh\necho \"$1 $2\" >> " + calls.string() +
                       "\nif [ \"$1\" = present ]; then\n" + present_extra +
                       "  curl -sS -d '{\"host\":\"'$2'.\",\"value\":\"'$3'\"}' " + pebble.challtestsrv_url() +
                       "/set-txt\nelse\n  curl -sS -d '{\"host\":\"'$2'.\"}' " + pebble.challtestsrv_url() +
                       "/clear-txt\nfi\n");
  fs::permissions(hook, fs::perms::owner_all);
  return hook;
}

std::string calls_of(const fs::path& hook) {
  const fs::path calls = hook.string() + ".calls";
  return fs::exists(calls) ? read_file(calls) : "";
}

// issued_at of every version of `name` in the store (current + archive), sorted.
std::vector<certpilot::store::SysTime> version_times(const fs::path& store, const std::string& name) {
  std::vector<certpilot::store::SysTime> out;
  auto add = [&](const fs::path& meta) {
    if (!fs::exists(meta)) return;
    auto m = certpilot::store::meta_from_json(read_file(meta));
    if (m && m->issued_at) out.push_back(*m->issued_at);
  };
  const fs::path dir = store / "certificates" / name;
  add(dir / "meta.json");
  if (fs::exists(dir / "archive")) {
    for (const auto& e : fs::directory_iterator(dir / "archive")) add(e.path() / "meta.json");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("daemon: 20 certificates are issued, then each renewed when due", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto period = 12s;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = numbered_certs(20);
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - period).count();
  const auto names = names_of(o.certs);
  write_daemon_config(tmp / "config.toml", *pebble, o);
  DaemonProcess daemon(tmp / "config.toml", tmp / "daemon.log");

  std::map<std::string, std::string> first;
  const bool issued = wait_until([&] { return all_issued(first = serials(tmp / "config.toml"), names); }, 120s);
  INFO(daemon.log_text());
  REQUIRE(issued);
  for (const auto& c : o.certs) {
    INFO("certificate " << c.name);
    CHECK(check_issued(*pebble, o.store / "certificates" / c.name, c.domains) == first[c.name]);
    CHECK(pebble->txt_values("_acme-challenge." + c.domains[0]).empty());
  }

  // Due `period` after issuance: every one gets a new serial; the old one goes to the archive.
  // Pebble 2.4 has no renewalInfo: `replaces` (RFC 9773 §5) is checked through AriProxy in ari_test.cpp.
  std::map<std::string, std::string> second;
  const bool renewed =
      wait_until([&] { return all_issued(second = serials(tmp / "config.toml"), names, first); }, 120s);
  REQUIRE(renewed);
  stop_cleanly(daemon);
  // The renewal jobs (separate processes) started together on an empty store: one account, no
  // job failed for want of it.
  CHECK(count_of(daemon.log_text(), "account registered") == 1);
  CHECK(count_of(daemon.log_text(), "status=failed") == 0);
  for (const auto& c : o.certs) {
    INFO("certificate " << c.name);
    // A later renewal may have happened meanwhile: compare with the store, not `second`.
    const auto now = check_issued(*pebble, o.store / "certificates" / c.name, c.domains);
    CHECK(now != first[c.name]);
    CHECK(fs::exists(o.store / "certificates" / c.name / "archive" / first[c.name]));
  }
  check_all_consistent(o.store, names);
}

// meta.json's next_check was computed with the policy in force at issuance: a renew_before set
// since must still make existing certificates due after a restart.
TEST_CASE("daemon: restarted with a renew_before that makes existing certificates due, renews them",
          "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = numbered_certs(3);
  const auto names = names_of(o.certs);
  write_daemon_config(tmp / "config.toml", *pebble, o);
  std::map<std::string, std::string> first;
  {
    DaemonProcess daemon(tmp / "config.toml", tmp / "daemon1.log");
    REQUIRE(wait_until([&] { return all_issued(first = serials(tmp / "config.toml"), names); }, 90s));
    stop_cleanly(daemon);
  }
  // Due one second after issuance: every certificate issued above is due now. (A renew_before not
  // shorter than the lifetime is ignored: see the next test.)
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - 1s).count();
  write_daemon_config(tmp / "config.toml", *pebble, o);
  DaemonProcess daemon(tmp / "config.toml", tmp / "daemon2.log");
  const bool renewed = wait_until([&] { return all_issued(serials(tmp / "config.toml"), names, first); }, 30s);
  INFO(daemon.log_text());
  CHECK(renewed);
}

TEST_CASE("daemon: kill -9 during renewals leaves a consistent store; a restart completes them",
          "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = numbered_certs(8, "kill.test");
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - 6s).count();
  const auto names = names_of(o.certs);
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);

  std::map<std::string, std::string> first;
  // Three crashes at different points of a renewal wave: as it starts, a little later, later still.
  for (int round = 0; round < 3; ++round) {
    const fs::path log = tmp / ("daemon" + std::to_string(round) + ".log");
    DaemonProcess daemon(config, log);
    if (round == 0) {
      REQUIRE(wait_until([&] { return all_issued(first = serials(config), names); }, 90s));
    }
    // A renewal has started once "renewing" appears for a certificate that is already issued.
    const bool started = wait_until(
        [&] {
          const auto text = daemon.log_text();
          return count_of(text, "renewing cert=") > (round == 0 ? static_cast<int>(names.size()) : 0);
        },
        60s, 10ms);
    REQUIRE(started);
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 60));
    daemon.kill_hard();
    INFO("round " << round << "\n" << read_file(log));
    check_all_consistent(o.store, names);
  }

  DaemonProcess daemon(config, tmp / "daemon-final.log");
  const bool completed = wait_until([&] { return all_issued(serials(config), names, first); }, 150s);
  INFO(daemon.log_text());
  REQUIRE(completed);
  // Not asserted (a loaded machine can time a request out), but worth seeing when it happens: a
  // failure here costs the certificate a 1-minute backoff.
  if (count_of(daemon.log_text(), "renewal failed") > 0) {
    std::cerr << "kill -9 test: the restarted daemon had failures:\n" << daemon.log_text();
  }
  stop_cleanly(daemon);
  check_all_consistent(o.store, names);
  for (const auto& c : o.certs) check_issued(*pebble, o.store / "certificates" / c.name, c.domains);
}

TEST_CASE("daemon: SIGHUP adds and removes certificates; a broken config keeps the previous one",
          "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto period = 8s;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - period).count();
  const CertEntry a{"a", {"a.hup.test"}}, b{"b", {"b.hup.test"}}, c{"c", {"c.hup.test"}}, d{"d", {"d.hup.test"}};
  o.certs = {a, b};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  std::map<std::string, std::string> s1;
  REQUIRE(wait_until([&] { return all_issued(s1 = serials(config), {"a", "b"}); }, 90s));

  // Remove b, add c.
  o.certs = {a, c};
  write_daemon_config(config, *pebble, o);
  daemon.signal(SIGHUP);
  std::map<std::string, std::string> s2;
  REQUIRE(wait_until([&] { return all_issued(s2 = serials(config), {"c"}); }, 90s));
  CHECK(count_of(daemon.log_text(), "config reloaded") == 1);
  // a keeps being renewed, b (no longer managed) is not touched again.
  const std::string b_serial = stored_serial(o.store, "b");
  const int b_attempts = count_of(daemon.log_text(), "renewing cert=b ");
  const auto a_serial = stored_serial(o.store, "a");
  REQUIRE(wait_until([&] { return stored_serial(o.store, "a") != a_serial; }, 60s));
  CHECK(stored_serial(o.store, "b") == b_serial);
  CHECK(count_of(daemon.log_text(), "renewing cert=b ") == b_attempts);

  // A broken file: reported, the previous config (a, c) stays in force.
  write_file(config, "[ca]\ndirectory = \n[[certificate]\n");
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return count_of(daemon.log_text(), "keeping the previous config") == 1; }, 30s));
  CHECK(daemon.running());
  const auto a_before = stored_serial(o.store, "a");
  REQUIRE(wait_until([&] { return stored_serial(o.store, "a") != a_before; }, 60s));

  // And a good file after the broken one is taken again.
  o.certs = {a, c, d};
  write_daemon_config(config, *pebble, o);
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return all_issued(serials(config), {"d"}); }, 90s));
  stop_cleanly(daemon);
  check_all_consistent(o.store, {"a", "b", "c", "d"});
}

// Scheduler::seed_locked used to keep the old next-check time of every certificate that stayed in
// the config, so changed domains waited for the next scheduled check (fixed in 7e6eeac).
TEST_CASE("daemon: SIGHUP with changed domains reissues the certificate", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = {{"web", {"web.change.test"}}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  std::map<std::string, std::string> s1;
  REQUIRE(wait_until([&] { return all_issued(s1 = serials(config), {"web"}); }, 90s));
  o.certs = {{"web", {"web.change.test", "www.change.test"}}};
  write_daemon_config(config, *pebble, o);
  daemon.signal(SIGHUP);
  const bool reissued = wait_until([&] { return all_issued(serials(config), {"web"}, s1); }, 20s);
  INFO(daemon.log_text());
  CHECK(reissued);
}

TEST_CASE("daemon: two daemons on one store never issue or renew the same certificate twice",
          "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto period = 15s;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.archive_keep = 50;
  o.certs = numbered_certs(10, "two.test");
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - period).count();
  const auto names = names_of(o.certs);
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  std::map<std::string, std::string> first;
  {
    DaemonProcess one(config, tmp / "one.log");
    DaemonProcess two(config, tmp / "two.log");
    REQUIRE(wait_until([&] { return all_issued(first = serials(config), names); }, 90s));
    REQUIRE(wait_until([&] { return all_issued(serials(config), names, first); }, 90s));
    stop_cleanly(one);
    stop_cleanly(two);
  }
  const std::string logs = read_file(tmp / "one.log") + read_file(tmp / "two.log");
  INFO(logs);
  for (const auto& n : names) {
    INFO("certificate " << n);
    const auto times = version_times(o.store, n);
    // Every issuance logged by either daemon is one version in the store...
    CHECK(static_cast<int>(times.size()) == count_of(logs, "certificate renewed cert=" + n + " "));
    CHECK(times.size() >= 2);
    // ...and two of them are a renewal period apart, never two at once (one per daemon).
    for (size_t i = 1; i < times.size(); ++i) CHECK(times[i] - times[i - 1] >= period - 3s);
  }
  check_all_consistent(o.store, names);
}

TEST_CASE("daemon: SIGTERM during an order stops it and removes its TXT record", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto hook = write_exec_hook(tmp, *pebble, "dns-hook.sh");
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.extra_dns = slow_exec_dns(hook, *pebble);
  o.certs = {{"slow", {"slow.term.test"}, "slow"}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  REQUIRE(wait_until([&] { return !pebble->txt_values("_acme-challenge.slow.term.test").empty(); }, 60s));
  stop_cleanly(daemon);
  CHECK(count_of(calls_of(hook), "cleanup _acme-challenge.slow.term.test") == 1);
  CHECK(pebble->txt_values("_acme-challenge.slow.term.test").empty());
  CHECK_FALSE(fs::exists(o.store / "certificates" / "slow" / "cert.pem"));
}

TEST_CASE("daemon: the embedded listener serves the renewed certificate", "[integration][daemon][tls]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  write_file(tmp / "root.pem", pebble->root_pem(0));
  const std::string root = (tmp / "root.pem").string();
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.renew_before_seconds = (pebble_lifetime(*pebble, tmp.path()) - 8s).count();
  o.certs = {{"site", {"site.listen.test"}}};
  const int port = free_port();
  o.listen_port = port;
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  std::map<std::string, std::string> s1;
  REQUIRE(wait_until([&] { return all_issued(s1 = serials(config), {"site"}); }, 90s));
  // The first certificate, then (after its renewal) the second, each on the same listening socket.
  INFO(daemon.log_text());
  CHECK(wait_until([&] { return served_serial(port, "site.listen.test", root) == s1["site"]; }, 30s));
  std::map<std::string, std::string> s2;
  REQUIRE(wait_until([&] { return all_issued(s2 = serials(config), {"site"}, s1); }, 60s));
  CHECK(wait_until(
      [&] {
        const auto served = served_serial(port, "site.listen.test", root);
        return !served.empty() && served != s1["site"] && served == stored_serial(o.store, "site");
      },
      30s));
  stop_cleanly(daemon);
}

TEST_CASE("daemon: a failing deploy hook is reported and the new certificate stays", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const fs::path hook = tmp / "deploy.sh";
  write_file(hook, "#!/bin/sh\necho \"$CERTPILOT_CERT_NAME $CERTPILOT_SERIAL\" >> " + (tmp / "deploy.calls").string() +
                       "\necho 'nginx: reload failed' >&2\nexit 1\n");
  fs::permissions(hook, fs::perms::owner_all);
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = {{"web", {"web.deploy.test"}, "pebble", hook.string()}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  std::map<std::string, std::string> s;
  REQUIRE(wait_until([&] { return all_issued(s = serials(config), {"web"}); }, 90s));
  REQUIRE(wait_until([&] { return count_of(daemon.log_text(), "deploy hook failed") >= 1; }, 30s));
  const auto log = daemon.log_text();
  INFO(log);
  CHECK(count_of(log, "nginx: reload failed") >= 1);
  CHECK(read_file(tmp / "deploy.calls") == "web " + s["web"] + "\n");
  CHECK(check_issued(*pebble, o.store / "certificates" / "web", {"web.deploy.test"}) == s["web"]);
  stop_cleanly(daemon);
  const auto rows = status_json(config);
  REQUIRE(rows.size() == 1);
  CHECK_THAT(rows[0].value("last_error", ""), Catch::Contains("deploy hook"));
  CHECK(rows[0].value("failures", 0) == 0);
  // A timer-driven `renew` must not report success when the service was not told.
  const auto renew = run_command({certpilot_binary().string(), "renew", "--force", "--config", config.string()}, {}, 120s);
  INFO(renew.err);
  CHECK(renew.exit_code == 1);
  CHECK_THAT(renew.err, Catch::Contains("deploy hook failed"));
  CHECK(serials(config)["web"] != s["web"]);
}

TEST_CASE("daemon: a DNS failure is recorded and a restart waits for next_check", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const fs::path hook = tmp / "broken.sh";
  write_file(hook, "#!/bin/sh\necho \"$1 $2\" >> " + (tmp / "broken.calls").string() +
                       "\necho 'zone is read-only' >&2\nexit 3\n");
  fs::permissions(hook, fs::perms::owner_all);
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.extra_dns = "[dns.broken]\nprovider = \"exec\"\noptions = { program = \"" + hook.string() +
                "\" }\npropagation = \"off\"\nresolvers = [\"" + pebble->challtestsrv_dns() + "\"]\n";
  o.certs = {{"bad", {"bad.fail.test"}, "broken"}, {"good", {"good.fail.test"}}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);

  auto row_of = [&](const std::string& name) {
    for (const auto& r : status_json(config)) {
      if (r.value("name", "") == name) return r;
    }
    return nlohmann::json::object();
  };
  nlohmann::json bad;
  {
    DaemonProcess daemon(config, tmp / "daemon1.log");
    REQUIRE(wait_until([&] { return all_issued(serials(config), {"good"}); }, 90s));
    REQUIRE(wait_until([&] { return (bad = row_of("bad")).value("failures", 0) >= 1; }, 60s));
    stop_cleanly(daemon);
  }
  INFO(bad.dump(2));
  CHECK(bad.value("failures", 0) == 1);
  CHECK_THAT(bad.value("last_error", ""), Catch::Contains("zone is read-only"));
  const auto next_check = certpilot::util::parse_rfc3339(bad.value("next_check", ""));
  REQUIRE(next_check.has_value());
  CHECK(*next_check > std::chrono::system_clock::now());
  const std::string calls = read_file(tmp / "broken.calls");
  CHECK(count_of(calls, "present _acme-challenge.bad.fail.test") == 1);
  CHECK(pebble->txt_values("_acme-challenge.bad.fail.test").empty());

  // A restart respects the backoff: no new attempt before next_check (1 minute after one failure).
  DaemonProcess daemon(config, tmp / "daemon2.log");
  REQUIRE(wait_until([&] { return count_of(daemon.log_text(), "daemon started") == 1; }, 30s));
  std::this_thread::sleep_for(3s);
  CHECK(read_file(tmp / "broken.calls") == calls);
  CHECK(row_of("bad").value("failures", 0) == 1);
  stop_cleanly(daemon);

  // A one-shot `renew` meanwhile does not try again either, but must not report success for a
  // certificate that was never issued: exit 1, the last error, and how to retry at once.
  const auto renew = run_command({certpilot_binary().string(), "renew", "--config", config.string()}, {}, 120s);
  INFO(renew.out << renew.err);
  CHECK(renew.exit_code == 1);
  CHECK_THAT(renew.out, Catch::Contains("bad: failed: not issued yet; backing off after 1 failure(s)") &&
                            Catch::Contains("zone is read-only") && Catch::Contains("renew --force --name bad"));
  CHECK_THAT(renew.out, Catch::Contains("good: not_due"));
  CHECK(read_file(tmp / "broken.calls") == calls);
  CHECK(row_of("bad").value("failures", 0) == 1);
}

// A routine restart must not count as a failure (a 1-minute backoff, one of the 5 failures
// allowed per hour). Fixed in 7e6eeac while this test was written.
TEST_CASE("daemon: an order cancelled by SIGTERM is not recorded as a failure", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  const auto hook = write_exec_hook(tmp, *pebble, "dns-hook.sh");
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.extra_dns = slow_exec_dns(hook, *pebble);
  o.certs = {{"slow", {"slow.cancel.test"}, "slow"}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  REQUIRE(wait_until([&] { return count_of(calls_of(hook), "present ") == 1; }, 60s));
  stop_cleanly(daemon);
  const auto rows = status_json(config);
  REQUIRE(rows.size() == 1);
  INFO(rows.dump(2));
  CHECK(rows[0].value("failures", 0) == 0);
}

// With renew_before longer than a fresh certificate's lifetime every new certificate would be due
// at once and be issued again every second, burning a real CA's duplicate-certificate limit.
TEST_CASE("daemon: a renew_before longer than the lifetime does not reissue in a loop",
          "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = {{"loop", {"loop.storm.test"}}};
  o.renew_before_seconds = 2000LL * 86400;  // Pebble certificates live 5 years (1826 days)
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  DaemonProcess daemon(config, tmp / "daemon.log");
  REQUIRE(wait_until([&] { return all_issued(serials(config), {"loop"}); }, 60s));
  std::this_thread::sleep_for(5s);
  stop_cleanly(daemon);
  INFO(daemon.log_text());
  CHECK(count_of(daemon.log_text(), "certificate renewed cert=loop ") <= 2);
}

TEST_CASE("renew: a damaged stored certificate is replaced instead of blocking renewal", "[integration][daemon]") {
  auto pebble = PebbleFixture::start(PebbleOptions::deterministic());
  TempDir tmp;
  DaemonConfigOptions o;
  o.store = tmp / "store";
  o.certs = {{"web", {"web.damaged.test"}}, {"api", {"api.damaged.test"}}};
  const fs::path config = tmp / "config.toml";
  write_daemon_config(config, *pebble, o);
  const auto renew = [&] {
    return run_command({certpilot_binary().string(), "renew", "--config", config.string()}, {}, 120s);
  };
  REQUIRE(renew().exit_code == 0);
  const auto first = serials(config);
  REQUIRE(all_issued(first, {"web", "api"}));
  // api gets web's key (it belongs to another certificate), web a truncated one.
  write_file(o.store / "certificates" / "api" / "key.pem", read_file(o.store / "certificates" / "web" / "key.pem"));
  write_file(o.store / "certificates" / "web" / "key.pem", "-----BEGIN PRIVATE KEY-----\ngarbage\n");
  const auto r = renew();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(count_of(r.err, "the stored certificate cannot be used") >= 2);
  const auto second = serials(config);
  for (const std::string name : {"web", "api"}) {
    INFO(name);
    CHECK(second.at(name) != first.at(name));
    CHECK(store_inconsistency(o.store, name).empty());
    CHECK(check_issued(*pebble, o.store / "certificates" / name, {name + ".damaged.test"}) == second.at(name));
  }
  // Nothing is due any more: a third run renews nothing.
  CHECK(renew().exit_code == 0);
  CHECK(serials(config) == second);
}
