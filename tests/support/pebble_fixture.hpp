#pragma once
// A running Pebble ACME server (and pebble-challtestsrv) on loopback, on free ports, for one test
// binary. Wraps pebble/start.sh and pebble/stop.sh (see pebble/README.md); helpers talk to the
// servers through the curl and dig CLIs so cp_test_support keeps its link line.
//
// Test-only code: failures throw std::runtime_error with the script's or tool's stderr.
// Not thread-safe for start/stop; the const helpers may be called from several threads.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace certpilot::test {

struct PebbleOptions {
  bool eab = false;  // externalAccountBindingRequired, keys kid-1 / kid-2 (pebble-config-eab.json)
  std::vector<std::pair<std::string, std::string>> env;  // extra Pebble env, e.g. {"PEBBLE_WFE_NONCEREJECT", "50"}
  std::string dns_server;  // Pebble's -dnsserver; empty: challtestsrv's DNS port
  bool challtestsrv = true;

  // No rejected nonces, no reused authorizations: every order does the whole protocol, and a test
  // never depends on Pebble's dice.
  static PebbleOptions deterministic() {
    PebbleOptions o;
    o.env = {{"PEBBLE_WFE_NONCEREJECT", "0"}, {"PEBBLE_AUTHZREUSE", "0"}};
    return o;
  }
};

class PebbleFixture {
 public:
  // The EAB key pair Pebble accepts when started with eab = true (from Debian's example config).
  static constexpr const char* kEabKid = "kid-1";
  static constexpr const char* kEabHmacKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  static constexpr const char* kEabKid2 = "kid-2";
  static constexpr const char* kEabHmacKey2 = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH";

  // Starts both servers in a fresh state directory and waits until they answer. A watchdog stops
  // them if this process dies without running the destructor.
  static std::unique_ptr<PebbleFixture> start(const PebbleOptions& options = {});

  // Stops both servers and removes the state directory (kept when CERTPILOT_KEEP_PEBBLE=1 is set,
  // for post-mortem of pebble.log).
  ~PebbleFixture();
  PebbleFixture(const PebbleFixture&) = delete;
  PebbleFixture& operator=(const PebbleFixture&) = delete;

  // Stops both servers now (SIGTERM, SIGKILL after 5 s); idempotent. Keeps the state directory.
  void stop();

  const std::string& directory_url() const { return directory_url_; }    // https://127.0.0.1:P/dir
  const std::string& ca_bundle_path() const { return ca_bundle_; }       // trust this for ACME + management
  const std::string& management_url() const { return management_url_; } // https://127.0.0.1:P
  const std::string& challtestsrv_url() const { return challtestsrv_url_; }  // http://127.0.0.1:P, empty if none
  const std::string& challtestsrv_dns() const { return challtestsrv_dns_; }  // 127.0.0.1:P, empty if none
  const std::string& state_dir() const { return state_dir_; }
  int pebble_pid() const;
  int challtestsrv_pid() const;  // 0 without challtestsrv
  // Any key of DIR/env (see pebble/README.md); empty if absent.
  std::string env_value(const std::string& key) const;

  // GET over HTTPS trusting only ca_bundle_path(); throws on transport error or HTTP status >= 400.
  std::string https_get(const std::string& url) const;
  // Pebble's management interface: roots and intermediates of the chains it issues (PEM).
  std::string root_pem(int index = 0) const;
  std::string intermediate_pem(int index = 0) const;
  // JSON body of /cert-status-by-serial/<serial>. Accepts any hex spelling ("0A:1b", "0a1b") and
  // normalises it to Pebble's (lowercase, no separators, no leading zeros).
  std::string cert_status_by_serial(const std::string& serial_hex) const;

  // POST json_body to challtestsrv's management path ("/set-txt"); returns the body.
  std::string http_post(const std::string& path, const std::string& json_body) const;
  // host is a DNS name; a missing trailing dot is added (challtestsrv matches FQDNs).
  void set_txt(const std::string& host, const std::string& value) const;
  void clear_txt(const std::string& host) const;
  // TXT values challtestsrv's DNS port serves for `name` right now (dig), unquoted; empty if none.
  // challtestsrv has no read-back API, so this asks the way a resolver would.
  std::vector<std::string> txt_values(const std::string& name) const;

 private:
  PebbleFixture() = default;

  std::map<std::string, std::string> env_;
  std::string directory_url_, ca_bundle_, management_url_, challtestsrv_url_, challtestsrv_dns_, state_dir_;
  bool stopped_ = false;
};

}  // namespace certpilot::test
