// dns/exec: the operator's hook program, run directly with argv and CERTPILOT_* variables.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <thread>

#include "dns/exec/exec_provider.hpp"
#include "support/temp_dir.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"

using namespace certpilot;
using util::Errc;
namespace fs = std::filesystem;

namespace {

// A hook that appends its argv and environment to calls.log, then runs `tail` (shell code).
fs::path write_hook(const test::TempDir& dir, const std::string& tail = "exit 0") {
  const fs::path hook = dir / "hook.sh";
  const fs::path log = dir / "calls.log";
  test::write_file(hook, "#!/bin/sh\n"
                         "{ printf 'argc=%s' \"$#\"; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo;\n"
                         "  echo \"ACTION=$CERTPILOT_ACTION FQDN=$CERTPILOT_FQDN VALUE=$CERTPILOT_VALUE "
                         "ZONE=$CERTPILOT_ZONE TTL=$CERTPILOT_TTL\"; } >> '" +
                             log.string() + "'\n" + tail + "\n");
  fs::permissions(hook, fs::perms::owner_all);
  return hook;
}

dns::ProviderPtr make(const std::map<std::string, std::string>& options) {
  auto p = dns::ExecProvider::create(options);
  REQUIRE(p);
  return std::move(*p);
}

const dns::TxtRecord kRecord{"example.test", "_acme-challenge.www.example.test", "Z5Vxk-value_1", std::chrono::seconds(90)};

}  // namespace

TEST_CASE("exec: present and cleanup run the hook with argv and CERTPILOT_* env", "[dns]") {
  test::TempDir dir;
  const auto hook = write_hook(dir);
  auto p = make({{"program", hook.string()}});
  CHECK(p->name() == "exec");
  REQUIRE(p->present(kRecord));
  REQUIRE(p->cleanup(kRecord));
  CHECK(test::read_file(dir / "calls.log") ==
        "argc=3 [present] [_acme-challenge.www.example.test] [Z5Vxk-value_1]\n"
        "ACTION=present FQDN=_acme-challenge.www.example.test VALUE=Z5Vxk-value_1 ZONE=example.test TTL=90\n"
        "argc=3 [cleanup] [_acme-challenge.www.example.test] [Z5Vxk-value_1]\n"
        "ACTION=cleanup FQDN=_acme-challenge.www.example.test VALUE=Z5Vxk-value_1 ZONE=example.test TTL=90\n");
}

TEST_CASE("exec: values are passed verbatim, never through a shell", "[dns]") {
  test::TempDir dir;
  const auto hook = write_hook(dir);
  auto p = make({{"program", hook.string()}});
  const dns::TxtRecord odd{"", "_acme-challenge.x.test", "$(touch pwned) *;", std::chrono::seconds(60)};
  REQUIRE(p->present(odd));
  CHECK(test::read_file(dir / "calls.log") ==
        "argc=3 [present] [_acme-challenge.x.test] [$(touch pwned) *;]\n"
        "ACTION=present FQDN=_acme-challenge.x.test VALUE=$(touch pwned) *; ZONE= TTL=60\n");
  CHECK_FALSE(fs::exists(dir / "pwned"));
}

TEST_CASE("exec: a non-zero exit is Errc::dns quoting stderr", "[dns]") {
  test::TempDir dir;
  SECTION("stderr is quoted") {
    const auto hook = write_hook(dir, "echo 'zone example.test: API said 403 Forbidden' >&2\nexit 3");
    auto p = make({{"program", hook.string()}});
    auto r = p->present(kRecord);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK(r.error().message == "'" + hook.string() + " present _acme-challenge.www.example.test' exited with status 3: "
                                                     "zone example.test: API said 403 Forbidden");
    // The TXT value is not part of the message.
    CHECK(r.error().message.find("Z5Vxk-value_1") == std::string::npos);
  }
  SECTION("stdout when stderr is empty") {
    const auto hook = write_hook(dir, "echo 'only on stdout'\nexit 1");
    auto p = make({{"program", hook.string()}});
    auto r = p->cleanup(kRecord);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::EndsWith("cleanup _acme-challenge.www.example.test' exited with status 1: only on stdout"));
  }
  SECTION("nothing printed") {
    const auto hook = write_hook(dir, "exit 2");
    auto p = make({{"program", hook.string()}});
    auto r = p->present(kRecord);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::EndsWith("exited with status 2 and printed nothing"));
  }
  SECTION("killed by a signal") {
    const auto hook = write_hook(dir, "kill -KILL $$");
    auto p = make({{"program", hook.string()}});
    auto r = p->present(kRecord);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::dns);
    CHECK_THAT(r.error().message, Catch::EndsWith("was killed by signal 9"));
  }
}

TEST_CASE("exec: the timeout option kills a hanging hook with Errc::timeout", "[dns]") {
  test::TempDir dir;
  const auto hook = write_hook(dir, "sleep 30");
  auto p = make({{"program", hook.string()}, {"timeout", "1s"}});
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  CHECK(r.error().message ==
        "'" + hook.string() + " present _acme-challenge.www.example.test' did not finish within 1s and was killed");
}

TEST_CASE("exec: SIGINT/SIGTERM stops a running present hook; clean-up hooks under a shield still run", "[dns]") {
  test::TempDir dir;
  // The hook notes that it started, then would sit for a minute: only a stop ends it early.
  const auto hook = write_hook(dir, "echo started > '" + (dir / "started").string() + "'; sleep 60; echo finished");
  auto p = make({{"program", hook.string()}, {"timeout", "2m"}});
  util::reset_cancel();
  std::thread signal([&] {
    while (!fs::exists(dir / "started")) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    util::request_cancel();  // what the SIGTERM handler does
  });
  auto r = p->present(kRecord);
  signal.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::cancelled);
  CHECK(r.error().message == "'" + hook.string() +
                                 " present _acme-challenge.www.example.test' was stopped: certpilot is shutting down "
                                 "(SIGINT/SIGTERM)");
  {
    // The solver's clean-up runs under a CancelShield: its hook is not stopped.
    const util::CancelShield shield;
    auto quick = make({{"program", write_hook(dir, "sleep 0.2").string()}});
    CHECK(quick->cleanup(kRecord));
  }
  util::reset_cancel();
}

TEST_CASE("exec: a program name without '/' is looked up in PATH at creation and kept as an absolute path", "[dns]") {
  test::TempDir dir;
  const auto hook = write_hook(dir);
  // Not found: refused before any order is created, instead of "cannot run" once the order exists.
  auto missing = dns::ExecProvider::create({{"program", "hook.sh"}}, "/nonexistent:/usr/bin");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::invalid_input);
  CHECK(missing.error().message ==
        "exec: program 'hook.sh' not found in PATH; give an absolute path (e.g. /etc/certpilot/hooks/hook.sh)");
  // Found: the file found is the one run, whatever PATH is later.
  auto found = dns::ExecProvider::create({{"program", "hook.sh"}}, "/nonexistent:" + dir.path().string());
  REQUIRE(found);
  auto r = (*found)->present(kRecord);
  REQUIRE(r);
  CHECK_THAT(test::read_file(dir / "calls.log"), Catch::StartsWith("argc=3 [present]"));
  // The default search path is the one hooks run with.
  CHECK(dns::ExecProvider::create({{"program", "sh"}}));
}

TEST_CASE("exec: a hook's script whose #! interpreter went missing after creation names it at run time", "[dns]") {
  test::TempDir dir;
  const auto interp = dir / "interp";
  fs::copy_file("/bin/sh", interp);
  const auto hook = dir / "hook.sh";
  test::write_file(hook, "#!" + interp.string() + "\nexit 0\n");
  fs::permissions(hook, fs::perms::owner_all);
  auto p = make({{"program", hook.string()}});
  fs::remove(interp);
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  // No "exec: " of its own: the solver puts "exec: adding TXT <fqdn>: " in front.
  CHECK(r.error().message == "cannot run '" + hook.string() + "': interpreter " + interp.string() +
                                 " (from the #! line of " + hook.string() + ") not found");
}

TEST_CASE("exec: a hook that exits 0 leaving a background process holding its output succeeds", "[dns]") {
  // The QA case: `setsid sleep 20 &` in the hook made present() wait out the timeout and fail.
  test::TempDir dir;
  const auto pids = dir / "pids";
  const auto hook = write_hook(dir, "setsid sleep 20 & echo $! > '" + pids.string() + "'\nexit 0");
  auto p = make({{"program", hook.string()}, {"timeout", "10s"}});
  util::set_log_sink([](std::string_view) {});  // the "still holds its output open" warning
  const auto start = std::chrono::steady_clock::now();
  auto r = p->present(kRecord);
  const auto took = std::chrono::steady_clock::now() - start;
  util::set_log_sink(nullptr);
  ::kill(std::stoi("0" + test::read_file(pids)), SIGKILL);
  CHECK(r);
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("exec: create() rejects bad options", "[dns]") {
  test::TempDir dir;
  const auto hook = write_hook(dir);
  const auto fails_with = [](const std::map<std::string, std::string>& options, const std::string& message) {
    auto p = dns::ExecProvider::create(options);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == Errc::invalid_input);
    CHECK(p.error().message == message);
  };
  fails_with({}, "exec: no program given; pass --dns-opt program=/path/to/hook");
  fails_with({{"program", ""}}, "exec: no program given; pass --dns-opt program=/path/to/hook");
  fails_with({{"program", (dir / "missing.sh").string()}}, "exec: program '" + (dir / "missing.sh").string() +
                                                             "' is missing or not executable: No such file or directory");
  const fs::path plain = dir / "plain.sh";
  test::write_file(plain, "#!/bin/sh\nexit 0\n");
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  fails_with({{"program", plain.string()}}, "exec: program '" + plain.string() + "' is not executable; chmod +x it");
  fails_with({{"program", dir.path().string()}},
             "exec: program '" + dir.path().string() + "' is a folder, not a program; give the hook file in it");
  const fs::path no_interp = dir / "no-interp.sh";
  test::write_file(no_interp, "#!/nonexistent/interp\nexit 0\n");
  fs::permissions(no_interp, fs::perms::owner_all);
  fails_with({{"program", no_interp.string()}}, "exec: program '" + no_interp.string() +
                                                    "': interpreter /nonexistent/interp (from the #! line of " +
                                                    no_interp.string() + ") not found");
  fails_with({{"program", hook.string()}, {"script", "x"}}, "exec: unknown option 'script' (known: program, timeout)");
  for (const char* bad : {"soon", "0", "0s", "-5", "1h30"}) {
    fails_with({{"program", hook.string()}, {"timeout", bad}},
               std::string("exec: timeout '") + bad + "' is not a duration of at least 1 second (e.g. 60 or 2m)");
  }
  // Good ones.
  CHECK(dns::ExecProvider::create({{"program", hook.string()}, {"timeout", "2m"}}));
  CHECK(dns::ExecProvider::create({{"program", hook.string()}, {"timeout", "60"}}));
}
