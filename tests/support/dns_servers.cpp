#include "support/dns_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "util/subprocess.hpp"

namespace certpilot::test {

namespace {

std::string run_checked(const std::vector<std::string>& argv) {
  util::ProcessOptions po;
  po.argv = argv;
  po.timeout = std::chrono::seconds(30);
  auto r = util::run_process(po);
  if (!r) throw std::runtime_error("cannot run " + argv[0] + ": " + r.error().message);
  if (r->exit_code != 0) throw std::runtime_error(argv[0] + " failed (" + std::to_string(r->exit_code) + "): " + r->err + r->out);
  return r->out;
}

bool can_bind(const std::string& address, std::uint16_t port, int type) {
  const int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

std::string random_token() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 24; ++i) s.push_back(kAlphabet[rd() % 36]);
  return s;
}

// Polls `dig` until the server answers the zone's SOA, or the daemon dies.
void wait_ready(Daemon& d, const std::string& address, std::uint16_t port, const std::string& zone, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!d.running()) throw std::runtime_error(what + " exited during start-up:\n" + d.log_tail());
    if (!dig_short(address, port, zone, "SOA").empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error(what + " did not answer within 30s:\n" + d.log_tail());
}

}  // namespace

std::uint16_t free_dns_port(const std::vector<std::string>& addresses) {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + rng() % 30000);
    bool ok = true;
    for (const auto& a : addresses) ok = ok && can_bind(a, port, SOCK_DGRAM) && can_bind(a, port, SOCK_STREAM);
    if (ok) return port;
  }
  throw std::runtime_error("no free DNS port on loopback");
}

std::uint16_t free_tcp_port() { return free_dns_port({"127.0.0.1"}); }

std::string render_fixture(const std::string& file, const std::map<std::string, std::string>& vars) {
  std::string text = read_file(std::filesystem::path(CERTPILOT_SOURCE_DIR) / "tests/fixtures/dns" / file);
  if (text.empty()) throw std::runtime_error("missing fixture tests/fixtures/dns/" + file);
  for (const auto& [k, v] : vars) {
    const std::string field = "@" + k + "@";
    for (auto pos = text.find(field); pos != std::string::npos; pos = text.find(field, pos + v.size())) {
      text.replace(pos, field.size(), v);
    }
  }
  return text;
}

std::string dig_short(const std::string& address, std::uint16_t port, const std::string& name, const std::string& type) {
  util::ProcessOptions po;
  po.argv = {"dig", "+short", "+time=1", "+tries=1", "+norecurse", "@" + address, "-p", std::to_string(port), name, type};
  po.timeout = std::chrono::seconds(10);
  auto r = util::run_process(po);
  if (!r) throw std::runtime_error("cannot run dig: " + r.error().message);
  if (r->exit_code != 0) return "";
  return r->out;
}

// --- Daemon --------------------------------------------------------------------------------------

Daemon::Daemon(const std::vector<std::string>& argv, const std::filesystem::path& log_file) : log_(log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + log_file.string());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed test binary must not leave servers behind
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(fd);
}

Daemon::~Daemon() { stop(); }

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Daemon::stop() {
  if (!running()) return;
  ::kill(-pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (!running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Daemon::log_tail() const {
  const std::string text = read_file(log_);
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

// --- BIND ----------------------------------------------------------------------------------------

std::unique_ptr<BindServer> BindServer::start(std::uint16_t port, const std::string& address,
                                              const std::string& forward_to_address, std::uint16_t forward_port) {
  std::unique_ptr<BindServer> s(new BindServer());
  s->address_ = address;
  s->port_ = port;
  const std::string dir = s->dir_.path().string();
  std::string keys_conf;
  std::string allow;
  for (const std::string alg : {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"}) {
    const std::string name = "key-" + alg;
    const std::string conf = run_checked({"tsig-keygen", "-a", alg, name});
    const auto q1 = conf.find("secret \"");
    const auto q2 = conf.find('"', q1 + 8);
    if (q1 == std::string::npos || q2 == std::string::npos) throw std::runtime_error("tsig-keygen output: " + conf);
    s->keys_[alg] = TsigKeyFile{name, alg, conf.substr(q1 + 8, q2 - q1 - 8)};
    keys_conf += conf;
    allow += "key \"" + name + "\"; ";
  }
  write_file(s->dir_ / "keys.conf", keys_conf);
  const std::map<std::string, std::string> vars{
      {"DIR", dir},
      {"PORT", std::to_string(port)},
      {"ADDRESS", address},
      {"ALLOW_UPDATE", allow},
      {"FORWARD_ADDRESS", forward_to_address.empty() ? "127.0.0.254" : forward_to_address},
      {"FORWARD_TO", forward_to_address.empty() ? "127.0.0.254 port 9" : forward_to_address + " port " + std::to_string(forward_port)}};
  write_file(s->dir_ / "named.conf", render_fixture("named.conf.in", vars));
  write_file(s->dir_ / "a.test.zone", render_fixture("a.test.zone.in", vars));
  write_file(s->dir_ / "test.zone", render_fixture("test.zone.in", vars));
  // -g: foreground, log to stderr; -n 1: one worker (the machine is shared); as root, named
  // keeps root (no -u) so it can write the zone journal in our temporary folder.
  s->daemon_ = std::make_unique<Daemon>(
      std::vector<std::string>{"named", "-g", "-n", "1", "-c", dir + "/named.conf", "-p", std::to_string(port)},
      s->dir_ / "named.log");
  wait_ready(*s->daemon_, address, port, "a.test", "named");
  return s;
}

BindServer::~BindServer() { stop(); }
void BindServer::stop() {
  if (daemon_) daemon_->stop();
}

// --- PowerDNS ------------------------------------------------------------------------------------

std::unique_ptr<PdnsServer> PdnsServer::start(std::uint16_t port, const std::string& address) {
  std::unique_ptr<PdnsServer> s(new PdnsServer());
  s->address_ = address;
  s->port_ = port;
  s->web_port_ = free_tcp_port();
  s->api_key_ = random_token();
  const std::string dir = s->dir_.path().string();
  const std::map<std::string, std::string> vars{{"DIR", dir},
                                                {"PORT", std::to_string(port)},
                                                {"ADDRESS", address},
                                                {"API_KEY", s->api_key_},
                                                {"WEB_PORT", std::to_string(s->web_port_)}};
  write_file(s->dir_ / "pdns.conf", render_fixture("pdns.conf.in", vars));
  write_file(s->dir_ / "b.test.zone", render_fixture("b.test.zone.in", vars));
  run_checked({"sqlite3", dir + "/pdns.sqlite3", ".read /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"});
  run_checked({"pdnsutil", "--config-dir=" + dir, "load-zone", "b.test", dir + "/b.test.zone"});
  s->daemon_ = std::make_unique<Daemon>(std::vector<std::string>{"pdns_server", "--config-dir=" + dir}, s->dir_ / "pdns.log");
  wait_ready(*s->daemon_, address, port, "b.test", "pdns_server");
  return s;
}

PdnsServer::~PdnsServer() { stop(); }
void PdnsServer::stop() {
  if (daemon_) daemon_->stop();
}

}  // namespace certpilot::test
