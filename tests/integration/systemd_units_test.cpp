// The units in systemd/ pass `systemd-analyze verify`. ExecStart points at /usr/local/bin/certpilot,
// which verify insists exists, so the units are copied with the path replaced by the built binary.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using certpilot::test::TempDir;

namespace {

const char* kUnits[] = {"certpilot.service", "certpilot-renew.service", "certpilot-renew.timer"};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Runs a shell command, returning (exit status, stdout+stderr).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("systemd units pass systemd-analyze verify", "[integration][systemd]") {
  if (run("command -v systemd-analyze").first != 0) {
    WARN("systemd-analyze not installed (Debian package systemd): skipped");
    return;
  }
  TempDir tmp;
  std::string args;
  for (const char* unit : kUnits) {
    const fs::path src = fs::path(CERTPILOT_SOURCE_DIR) / "systemd" / unit;
    REQUIRE(fs::exists(src));
    const std::string text = replace_all(certpilot::test::read_file(src), "/usr/local/bin/certpilot", CERTPILOT_BINARY);
    certpilot::test::write_file(tmp / unit, text);
    args += " '" + (tmp / unit).string() + "'";
  }
  const auto [status, output] = run("systemd-analyze verify" + args);
  INFO(output);
  CHECK(status == 0);
  // verify prints warnings without failing; a clean file prints nothing about our units.
  for (const char* unit : kUnits) CHECK(output.find(unit) == std::string::npos);
}

TEST_CASE("certpilot.service keeps the contracted settings", "[integration][systemd]") {
  const std::string s = certpilot::test::read_file(fs::path(CERTPILOT_SOURCE_DIR) / "systemd/certpilot.service");
  for (const char* line : {"Type=notify", "WatchdogSec=", "Restart=on-failure", "StateDirectory=certpilot",
                           "ExecStart=/usr/local/bin/certpilot run --config /etc/certpilot/config.toml",
                           "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
                           "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                           "AmbientCapabilities=CAP_NET_BIND_SERVICE\n", "SystemCallFilter=@system-service"}) {
    INFO(line);
    CHECK(s.find(line) != std::string::npos);
  }
  const std::string timer = certpilot::test::read_file(fs::path(CERTPILOT_SOURCE_DIR) / "systemd/certpilot-renew.timer");
  CHECK(timer.find("RandomizedDelaySec=") != std::string::npos);
}
