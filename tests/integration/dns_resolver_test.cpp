// Split horizon: with --dns-resolver given, every zone, SOA, NS, A/AAAA, CNAME and CAA question of
// the run (the lookups and every provider's own) goes to those resolvers and to nothing else.
//
// How "nothing else" is observed without ever asking the real system resolver: certpilot runs in
// its own mount namespace (unshare -m) where /etc/resolv.conf names a loopback fake that counts
// what it is asked. A run that fell back to "the system's resolvers" would ask the fake, and the
// test sees it. Needs root (the integration tests run as root).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "dns/wire/message.hpp"
#include "support/dns_env.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
using namespace certpilot::test;
namespace wire = certpilot::dns::wire;

namespace {

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// A DNS server on loopback (UDP and TCP) that answers every question with one rcode and remembers
// each question ("name TYPE"). Stops in the destructor.
class CountingDns {
 public:
  CountingDns(const std::string& address, std::uint16_t port, std::uint8_t rcode) : address_(address), rcode_(rcode) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) throw std::runtime_error("bad address " + address);
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(tcp_, 8) != 0) {
      close_all();
      throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port));
    }
    socklen_t len = sizeof sa;
    ::getsockname(udp_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CountingDns() {
    stop_ = true;
    thread_.join();
    close_all();
  }
  CountingDns(const CountingDns&) = delete;
  CountingDns& operator=(const CountingDns&) = delete;

  std::string server() const { return address_ + ":" + std::to_string(port_); }
  const std::string& address() const { return address_; }
  std::vector<std::string> questions() const {
    std::lock_guard lock(mu_);
    return questions_;
  }

 private:
  std::string answer(const std::string& query) {
    auto m = wire::decode(query);
    std::lock_guard lock(mu_);
    if (!m) {
      questions_.push_back("(undecodable)");
      return {};
    }
    for (const auto& q : m->questions) questions_.push_back(q.name + " " + wire::type_name(q.type));
    wire::Message a;
    a.header = m->header;
    a.header.qr = true;
    a.header.ra = true;
    a.header.rcode = rcode_;
    a.questions = m->questions;
    auto bytes = wire::encode(a);
    return bytes ? *bytes : std::string();
  }

  void serve() {
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        char buf[4096];
        sockaddr_storage from{};
        socklen_t flen = sizeof from;
        const auto n = ::recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n > 0) {
          const auto reply = answer(std::string(buf, static_cast<std::size_t>(n)));
          if (!reply.empty()) ::sendto(udp_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
        }
      }
      if (fds[1].revents & POLLIN) serve_tcp(::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC));
    }
  }

  void serve_tcp(int fd) {
    if (fd < 0) return;
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    unsigned char len[2];
    if (::recv(fd, len, 2, MSG_WAITALL) == 2) {
      std::string query(static_cast<std::size_t>(len[0] << 8 | len[1]), '\0');
      if (::recv(fd, query.data(), query.size(), MSG_WAITALL) == static_cast<ssize_t>(query.size())) {
        const auto reply = answer(query);
        const unsigned char rlen[2] = {static_cast<unsigned char>(reply.size() >> 8),
                                       static_cast<unsigned char>(reply.size() & 0xff)};
        (void)::send(fd, rlen, 2, MSG_NOSIGNAL);
        (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    } else {
      std::lock_guard lock(mu_);
      questions_.push_back("(TCP connection)");
    }
    ::close(fd);
  }

  void close_all() {
    if (udp_ >= 0) ::close(udp_);
    if (tcp_ >= 0) ::close(tcp_);
    udp_ = tcp_ = -1;
  }

  std::string address_;
  std::uint16_t port_ = 0;
  std::uint8_t rcode_;
  int udp_ = -1;
  int tcp_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> questions_;  // guarded by mu_
};

// The stand-in for the system resolver: port 53 (resolv.conf carries no port) on a loopback
// address of its own, so it cannot collide with the test servers.
std::unique_ptr<CountingDns> start_system_fake() {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 50; ++attempt) {
    const std::string address = "127.53." + std::to_string(1 + rng() % 250) + "." + std::to_string(1 + rng() % 250);
    try {
      return std::make_unique<CountingDns>(address, 53, wire::rcode::kNxDomain);
    } catch (const std::runtime_error&) {
    }
  }
  throw std::runtime_error("no loopback address free for a fake system resolver on port 53");
}

// certpilot with /etc/resolv.conf replaced by one naming `system` (in a private mount namespace:
// the host's file is untouched). If the namespace or the mount fails, certpilot does not run.
CommandResult run_isolated(const TempDir& tmp, const CountingDns& system, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
  const auto conf = tmp / "resolv.conf";
  write_file(conf, "nameserver " + system.address() + "\noptions timeout:1 attempts:1\n");
  std::vector<std::string> argv = {"unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", conf.string(),
                                   certpilot_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, env, std::chrono::seconds(120));
  INFO(describe(argv, r) << "\n--- stdout\n" << r.out);
  REQUIRE_FALSE(contains(r.err, "mount:"));  // the isolation itself must have worked
  REQUIRE_FALSE(contains(r.err, "unshare:"));
  return r;
}

std::map<std::string, std::string> secrets_env() {
  auto& env = dns_test_env();
  return {{"CERTPILOT_TEST_TSIG", env.bind->key("hmac-sha256").secret}, {"CERTPILOT_TEST_PDNS_KEY", env.pdns->api_key()}};
}

std::vector<std::string> tsig_opts() {
  auto& env = dns_test_env();
  return {"--dns-opt", "tsig-key-name=" + env.bind->key("hmac-sha256").name, "--dns-opt",
          "tsig-secret-env=CERTPILOT_TEST_TSIG"};
}

}  // namespace

TEST_CASE("the fake system resolver sees what a run without --dns-resolver asks", "[integration][dns]") {
  // The control: proves the isolation works, so zero questions below means something.
  auto system = start_system_fake();
  TempDir tmp;
  std::vector<std::string> args = {"dns-check", "-d", "control.a.test", "--dns", "rfc2136", "--dns-opt",
                                   "server=" + dns_test_env().bind->server()};
  const auto tsig = tsig_opts();
  args.insert(args.end(), tsig.begin(), tsig.end());
  auto r = run_isolated(tmp, *system, args, secrets_env());
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "system resolvers"));
  CHECK(contains(r.err, "--dns-resolver HOST[:PORT]"));
  CHECK_FALSE(system->questions().empty());
}

TEST_CASE("rfc2136 finds the zone, its primary and CAA through --dns-resolver only", "[integration][dns]") {
  auto& env = dns_test_env();
  auto system = start_system_fake();
  TempDir tmp;
  // No server option: the primary comes from the SOA MNAME (ns1.a.test) and its A record, asked of
  // the given resolver (BIND) like the zone; then the same with the server given by name.
  for (const std::string& server : std::vector<std::string>{"", "ns1.a.test:" + std::to_string(env.port)}) {
    std::vector<std::string> args = {"dns-check", "-d", "split.a.test", "--dns", "rfc2136", "--dns-resolver",
                                     env.resolver(), "--propagation", "resolvers", "--propagation-interval", "1",
                                     "--propagation-timeout", "20", "--caa-identity", "ca.test"};
    if (server.empty()) {
      args.insert(args.end(), {"--dns-opt", "port=" + std::to_string(env.port)});
    } else {
      args.insert(args.end(), {"--dns-opt", "server=" + server});
    }
    const auto tsig = tsig_opts();
    args.insert(args.end(), tsig.begin(), tsig.end());
    auto r = run_isolated(tmp, *system, args, secrets_env());
    INFO("server option: " << (server.empty() ? "(none)" : server) << "\n" << r.err << "\n" << r.out);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "zone:     a.test\n"));
    CHECK(contains(r.out, "CAA split.a.test: allowed by CAA at a.test"));
    CHECK(contains(r.out, "ok: the DNS path works for 1 name(s)"));
    CHECK(system->questions().empty());
  }
}

TEST_CASE("pdns with authoritative propagation asks only --dns-resolver for zones and nameservers",
          "[integration][dns]") {
  auto& env = dns_test_env();
  auto system = start_system_fake();
  TempDir tmp;
  const std::vector<std::string> args = {
      "dns-check", "-d", "split.b.test", "--dns", "pdns", "--dns-opt", "api-url=" + env.pdns->api_url(),
      "--dns-opt", "api-key-env=CERTPILOT_TEST_PDNS_KEY", "--dns-resolver", env.resolver(), "--nameserver-port",
      std::to_string(env.port), "--propagation-interval", "1", "--propagation-timeout", "20"};
  auto r = run_isolated(tmp, *system, args, secrets_env());
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "zone:     b.test\n"));
  CHECK(contains(r.out, "ns.b.test (127.0.0.2:" + std::to_string(env.port) + ")"));
  CHECK(system->questions().empty());
}

TEST_CASE("a resolver that does not see the zone: rfc2136 asks it, not the system, and the error names it",
          "[integration][dns]") {
  // The tester's case: the given resolver knows nothing (NXDOMAIN for every name).
  auto system = start_system_fake();
  CountingDns blind("127.0.0.1", 0, wire::rcode::kNxDomain);
  TempDir tmp;
  std::vector<std::string> args = {"dns-check", "-d", "s.example.test", "--dns", "rfc2136", "--dns-opt",
                                   "server=" + dns_test_env().bind->server(), "--dns-resolver", blind.server(),
                                   "--propagation", "resolvers"};
  const auto tsig = tsig_opts();
  args.insert(args.end(), tsig.begin(), tsig.end());
  auto r = run_isolated(tmp, *system, args, secrets_env());
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "finding the zone of _acme-challenge.s.example.test: no SOA record at or above it (asked " +
                            blind.server() + "); check the name, and that these resolvers see its zone (--dns-resolver)"));
  CHECK_FALSE(contains(r.err, "system resolvers"));
  CHECK(system->questions().empty());
  // The solver's own walk and the provider's both went to the given resolver.
  const auto asked = blind.questions();
  CHECK(std::count(asked.begin(), asked.end(), "s.example.test SOA") >= 2);
  // Nothing was written, so nothing is reported as left behind.
  CHECK_FALSE(contains(r.out, "NOT cleaned up"));
  CHECK_FALSE(contains(r.err, "could not remove"));
}

TEST_CASE("--dns-resolver: ports outside 1-65535, empty hosts and garbage are exit 2 before any query",
          "[integration][dns]") {
  auto system = start_system_fake();
  TempDir tmp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1:99999", "--dns-resolver: bad port 99999 (1-65535)"},
      {"127.0.0.1:0", "--dns-resolver: bad port 0 (1-65535)"},
      {"127.0.0.1:65536", "--dns-resolver: bad port 65536 (1-65535)"},
      {":53", "--dns-resolver: no address before \":53\"; use IP, IP:PORT or [IPV6]:PORT"},
      {"", "--dns-resolver: empty address; use IP, IP:PORT or [IPV6]:PORT"},
      {"resolver.example.test", "--dns-resolver: \"resolver.example.test\" is a host name, but a resolver is given by "
                                "address; use IP, IP:PORT or [IPV6]:PORT"},
      {"not an address", "--dns-resolver: \"not an address\" is not an IP address; use IP, IP:PORT or [IPV6]:PORT"}};
  for (const auto& [value, message] : cases) {
    auto r = run_isolated(tmp, *system,
                          {"dns-check", "-d", "a.test", "--dns", "exec", "--dns-opt", "program=/bin/true",
                           "--dns-resolver", value},
                          {});
    INFO("--dns-resolver '" << value << "'\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "certpilot dns-check: error: " + message + "\n");
  }
  CHECK(system->questions().empty());
}
