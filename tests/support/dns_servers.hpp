#pragma once
// Real DNS servers for the DNS tests, on loopback: BIND 9 (named) authoritative for a.test with
// TSIG-signed updates allowed, and PowerDNS Authoritative (gsqlite3 + HTTP API) for b.test.
// Both listen on the same free port, BIND on 127.0.0.1 and PowerDNS on 127.0.0.2, so that the
// propagation checker's "nameserver port override" (one port for every NS address) reaches both.
// BIND forwards b.test to PowerDNS, so BIND alone can serve as the operator's resolver.
// Test code: failures throw std::runtime_error with the server's log tail. Each server stops (and
// its temporary folder goes) in the destructor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace certpilot::test {

// A port free for UDP and TCP on every given loopback address.
std::uint16_t free_dns_port(const std::vector<std::string>& addresses);
// A free TCP port on 127.0.0.1.
std::uint16_t free_tcp_port();

struct TsigKeyFile {
  std::string name;       // "key-hmac-sha256"
  std::string algorithm;  // "hmac-sha256"
  std::string secret;     // base64, as tsig-keygen writes it
};

// A started daemon (own process group), stopped with SIGTERM then SIGKILL.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  bool running();
  void stop();
  std::string log_tail() const;

 private:
  int pid_ = -1;
  std::filesystem::path log_;
};

class BindServer {
 public:
  // address: where named listens; forward_b_test_to: "127.0.0.2 port N" target for b.test ("" = none).
  static std::unique_ptr<BindServer> start(std::uint16_t port, const std::string& address = "127.0.0.1",
                                           const std::string& forward_to_address = "", std::uint16_t forward_port = 0);
  ~BindServer();
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }
  std::string server() const { return address_ + ":" + std::to_string(port_); }  // "127.0.0.1:N"
  // The keys BIND accepts for updates of a.test: one per algorithm (hmac-sha256, hmac-sha512,
  // hmac-sha1, hmac-md5).
  const TsigKeyFile& key(const std::string& algorithm) const { return keys_.at(algorithm); }
  void stop();
  std::string log_tail() const { return daemon_ ? daemon_->log_tail() : ""; }

 private:
  BindServer() = default;
  TempDir dir_;
  std::string address_;
  std::uint16_t port_ = 0;
  std::map<std::string, TsigKeyFile> keys_;
  std::unique_ptr<Daemon> daemon_;
};

class PdnsServer {
 public:
  static std::unique_ptr<PdnsServer> start(std::uint16_t port, const std::string& address = "127.0.0.2");
  ~PdnsServer();
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }
  std::string server() const { return address_ + ":" + std::to_string(port_); }
  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(web_port_); }  // no /api/v1
  const std::string& api_key() const { return api_key_; }
  void stop();
  std::string log_tail() const { return daemon_ ? daemon_->log_tail() : ""; }

 private:
  PdnsServer() = default;
  TempDir dir_;
  std::string address_;
  std::uint16_t port_ = 0;
  std::uint16_t web_port_ = 0;
  std::string api_key_;
  std::unique_ptr<Daemon> daemon_;
};

// `dig +short` against one server (for asserting what a server serves, independently of our code).
std::string dig_short(const std::string& address, std::uint16_t port, const std::string& name, const std::string& type);

// Fills @KEY@ fields of a fixture template from tests/fixtures/dns/.
std::string render_fixture(const std::string& file, const std::map<std::string, std::string>& vars);

}  // namespace certpilot::test
