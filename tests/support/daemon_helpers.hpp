#pragma once
// Test-only helpers for `certpilot run` (the renewal daemon) against a PebbleFixture: a config file
// writer, the daemon as a background child process that can be signalled, bounded polling, and
// readers for `certpilot status --json` and the store.
//
// Test code: failures to start a program throw std::runtime_error; conditions are waited for with
// a generous deadline and reported as a boolean (never a timing assertion).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/pebble_fixture.hpp"

#include "support/text.hpp"

namespace certpilot::test {

struct CertEntry {
  CertEntry(std::string n, std::vector<std::string> d, std::string setup = "pebble", std::string hook = "")
      : name(std::move(n)), domains(std::move(d)), dns(std::move(setup)), deploy_hook(std::move(hook)) {}
  std::string name;
  std::vector<std::string> domains;
  std::string dns = "pebble";  // a [dns.<name>] setup; "pebble" is the fixture's challtestsrv
  std::string deploy_hook;     // absolute path, or empty
};

struct DaemonConfigOptions {
  std::filesystem::path store;  // [storage] dir
  std::string directory_url;    // [ca] directory; empty: the fixture's (an AriProxy's goes here)
  int archive_keep = 5;
  std::vector<CertEntry> certs;
  int max_parallel_orders = 4;
  std::optional<long long> renew_before_seconds;  // [daemon] renew_before (integer seconds)
  std::string extra_dns;        // raw TOML with more [dns.<name>] tables
  std::optional<int> listen_port;  // [listener] on 127.0.0.1:PORT (backend: an unused loopback port)
};

// `n` certificates "c00".."c<n-1>" for "c00.<suffix>" ... on the fixture's challtestsrv.
std::vector<CertEntry> numbered_certs(int n, const std::string& suffix = "daemon.test");
// The certificate names of `certs`, in order.
std::vector<std::string> names_of(const std::vector<CertEntry>& certs);

// The TOML text: [ca] (the fixture's directory and CA bundle), [storage], [dns.pebble] (provider
// challtestsrv), extra_dns, every [[certificate]], [daemon], [listener].
std::string daemon_config_text(const PebbleFixture& pebble, const DaemonConfigOptions& options);
void write_daemon_config(const std::filesystem::path& file, const PebbleFixture& pebble,
                         const DaemonConfigOptions& options);

// `certpilot run --config FILE` as a child in its own process group, stdout+stderr appended to
// `log`, killed with the test binary (PR_SET_PDEATHSIG). The destructor stops it (SIGTERM, then
// SIGKILL to the whole group after 20 s). Not thread-safe.
class DaemonProcess {
 public:
  DaemonProcess(const std::filesystem::path& config, const std::filesystem::path& log);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits (bounded) for the exit; returns the wait status, or nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGKILL to the daemon and everything in its group (exec hooks), then reaps it.
  void kill_hard();
  bool running();
  std::string log_text() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path log_;
};

// Polls `cond` every `interval` until it is true or `timeout` passed; returns the last value.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = std::chrono::seconds(90),
                std::chrono::milliseconds interval = std::chrono::milliseconds(200));

// `certpilot status --config FILE --json` parsed; an empty array when it cannot be read.
nlohmann::json status_json(const std::filesystem::path& config);
// Stops the daemon with SIGTERM and checks that it exited 0 within 30 s, saying "stopped".
void stop_cleanly(DaemonProcess& d);

// name -> serial (lowercase hex; "" when not issued) from status_json.
std::map<std::string, std::string> serials(const std::filesystem::path& config);
// True when every name in `names` has a serial, and (if `not_in` is given) none equals the old one.
bool all_issued(const std::map<std::string, std::string>& now, const std::vector<std::string>& names,
                const std::map<std::string, std::string>& not_in = {});

// Checks certificates/<name> in the store: key.pem matches the leaf of fullchain.pem and cert.pem
// is that leaf. Returns "" when consistent, else what is wrong.
std::string store_inconsistency(const std::filesystem::path& store, const std::string& name);
// Leaf serial (lowercase hex) of certificates/<name>/cert.pem, "" if unreadable.
std::string stored_serial(const std::filesystem::path& store, const std::string& name);

// How long a certificate Pebble issues right now stays valid (not_after - now), measured with one
// `certpilot issue`; with renew_before = that - X, a certificate becomes due about X after issuance,
// so a daemon renews each one every X (a renewal period short enough for a test).
std::chrono::seconds pebble_lifetime(const PebbleFixture& pebble, const std::filesystem::path& scratch);

// The serial on the built-in responder page for `name` (lowercase), "" when the request failed.
std::string served_serial(int port, const std::string& name, const std::string& ca_file);

// A free TCP port on 127.0.0.1 (bound to 0 and released).
int free_port();

}  // namespace certpilot::test
