#include "support/daemon_helpers.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "support/issue_helpers.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace certpilot::test {

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

std::vector<CertEntry> numbered_certs(int n, const std::string& suffix) {
  std::vector<CertEntry> out;
  for (int i = 0; i < n; ++i) {
    std::string name = (i < 10 ? "c0" : "c") + std::to_string(i);
    out.push_back({name, {name + "." + suffix}});
  }
  return out;
}

void stop_cleanly(DaemonProcess& d) {
  d.signal(SIGTERM);
  const auto status = d.wait_exit(std::chrono::seconds(30));
  INFO(d.log_text());
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(count_of(d.log_text(), "stopped") >= 1);
}

std::vector<std::string> names_of(const std::vector<CertEntry>& certs) {
  std::vector<std::string> out;
  for (const auto& c : certs) out.push_back(c.name);
  return out;
}

std::string daemon_config_text(const PebbleFixture& pebble, const DaemonConfigOptions& o) {
  std::ostringstream t;
  t << "[ca]\ndirectory = " << quoted(o.directory_url.empty() ? pebble.directory_url() : o.directory_url) << "\nca_bundle = " << quoted(pebble.ca_bundle_path())
    << "\nemail = \"ops@example.test\"\nagree_tos = true\n\n";
  t << "[storage]\ndir = " << quoted(o.store.string()) << "\narchive_keep = " << o.archive_keep << "\n\n";
  t << "[dns.pebble]\nprovider = \"challtestsrv\"\noptions = { url = " << quoted(pebble.challtestsrv_url())
    << " }\n\n";
  t << o.extra_dns << "\n";
  for (const auto& c : o.certs) {
    t << "[[certificate]]\nname = " << quoted(c.name) << "\ndomains = [";
    for (size_t i = 0; i < c.domains.size(); ++i) t << (i ? ", " : "") << quoted(c.domains[i]);
    t << "]\ndns = " << quoted(c.dns) << "\n";
    if (!c.deploy_hook.empty()) t << "deploy_hook = " << quoted(c.deploy_hook) << "\ndeploy_hook_timeout = \"20s\"\n";
    t << "\n";
  }
  t << "[daemon]\nmax_parallel_orders = " << o.max_parallel_orders << "\n";
  if (o.renew_before_seconds) t << "renew_before = " << *o.renew_before_seconds << "\n";
  if (o.listen_port) t << "\n[listener]\nlisten = [\"127.0.0.1:" << *o.listen_port << "\"]\n";
  return t.str();
}

void write_daemon_config(const fs::path& file, const PebbleFixture& pebble, const DaemonConfigOptions& options) {
  // Written beside and renamed, so a SIGHUP never reads half a file.
  const fs::path tmp = file.string() + ".tmp";
  write_file(tmp, daemon_config_text(pebble, options));
  fs::rename(tmp, file);
}

DaemonProcess::DaemonProcess(const fs::path& config, const fs::path& log) : log_(log) {
  // Everything the child needs is prepared before fork(): only async-signal-safe calls after it.
  std::vector<std::string> args = {certpilot_binary().string(), "run", "--config", config.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log.string());
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
  ::setpgid(pid, pid);  // also from the parent, so a signal to the group cannot race the child's setpgid
  pid_ = pid;
}

DaemonProcess::~DaemonProcess() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(std::chrono::seconds(20))) kill_hard();
}

void DaemonProcess::signal(int sig) const {
  if (!reaped_) ::kill(pid_, sig);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (reaped_) return 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      ::kill(-pid_, SIGKILL);  // leftovers of its group (hooks), if any
      return status;
    }
    if (r < 0) {
      reaped_ = true;
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void DaemonProcess::kill_hard() {
  if (reaped_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
}

bool DaemonProcess::running() { return !reaped_ && !wait_exit(std::chrono::milliseconds(0)).has_value(); }

std::string DaemonProcess::log_text() const { return read_file(log_); }

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

nlohmann::json status_json(const fs::path& config) {
  auto r = run_command({certpilot_binary().string(), "status", "--config", config.string(), "--json"}, {},
                       std::chrono::seconds(30));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return nlohmann::json::array();
  return j;
}

std::map<std::string, std::string> serials(const fs::path& config) {
  std::map<std::string, std::string> out;
  for (const auto& row : status_json(config)) {
    const std::string name = row.value("name", "");
    out[name] = row.contains("serial") && row["serial"].is_string() ? row["serial"].get<std::string>() : "";
  }
  return out;
}

bool all_issued(const std::map<std::string, std::string>& now, const std::vector<std::string>& names,
                const std::map<std::string, std::string>& not_in) {
  for (const auto& n : names) {
    auto it = now.find(n);
    if (it == now.end() || it->second.empty()) return false;
    auto old = not_in.find(n);
    if (old != not_in.end() && old->second == it->second) return false;
  }
  return true;
}

std::string store_inconsistency(const fs::path& store, const std::string& name) {
  const fs::path dir = store / "certificates" / name;
  std::error_code ec;
  if (!fs::exists(dir / "fullchain.pem", ec)) return name + ": no fullchain.pem";
  auto chain = crypto::CertificateChain::from_pem(read_file(dir / "fullchain.pem"));
  if (!chain) return name + ": fullchain.pem: " + chain.error().message;
  auto leaf = crypto::Certificate::from_pem(read_file(dir / "cert.pem"));
  if (!leaf) return name + ": cert.pem: " + leaf.error().message;
  if (leaf->serial_hex() != chain->leaf().serial_hex()) return name + ": cert.pem and fullchain.pem differ";
  auto key = crypto::PrivateKey::load((dir / "key.pem").string());
  if (!key) return name + ": key.pem: " + key.error().message;
  if (!chain->leaf().matches_key(*key)) return name + ": key.pem does not match the leaf " + leaf->serial_hex();
  return "";
}

std::string stored_serial(const fs::path& store, const std::string& name) {
  std::error_code ec;
  const fs::path file = store / "certificates" / name / "cert.pem";
  if (!fs::exists(file, ec)) return "";
  auto leaf = crypto::Certificate::from_pem(read_file(file));
  return leaf ? leaf->serial_hex() : "";
}

std::chrono::seconds pebble_lifetime(const PebbleFixture& pebble, const fs::path& scratch) {
  auto argv = issue_argv(pebble, {"lifetime.probe.test"}, scratch / "probe", scratch / "probe-state");
  auto r = run_command(argv);
  if (r.exit_code != 0) throw std::runtime_error(describe(argv, r));
  auto leaf = crypto::Certificate::from_pem(read_file(scratch / "probe" / "cert.pem"));
  if (!leaf) throw std::runtime_error("probe certificate unreadable");
  // not_after - now rather than - not_before: right whether or not Pebble backdates not_before.
  return std::chrono::duration_cast<std::chrono::seconds>(leaf->not_after() - std::chrono::system_clock::now());
}

std::string served_serial(int port, const std::string& name, const std::string& ca_file) {
  const std::string hostport = name + ":" + std::to_string(port);
  auto r = run_command({"curl", "-sS", "--max-time", "5", "--cacert", ca_file, "--resolve", hostport + ":127.0.0.1",
                        "https://" + hostport + "/"},
                       {}, std::chrono::seconds(10));
  const auto at = r.out.find("serial: ");
  if (r.exit_code != 0 || at == std::string::npos) return "";
  return lower(r.out.substr(at + 8, r.out.find('\n', at) - at - 8));
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace certpilot::test
