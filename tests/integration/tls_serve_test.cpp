// `certpilot serve` as a process: --certs folders in the `issue --out` layout (a symlink swapped
// by rename) and in the store layout, reloads without restart, a bad renewal refused while the
// old certificate keeps serving, --self-signed, and --plaintext refusing public addresses.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "crypto/certificate.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace certpilot;
using certpilot::test::TempDir;

namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ServeProcess {
 public:
  ServeProcess(std::vector<std::string> args, const fs::path& log) {
    args.insert(args.begin(), {certpilot::test::certpilot_binary().string(), "serve"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~ServeProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

struct Issued {
  std::string key, cert, chain, serial;
};

Issued issue(const certpilot::test::TestCa& ca, const std::string& name) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  REQUIRE(key);
  Issued i;
  i.key = key->to_pem();
  i.cert = ca.issue_leaf(*key, {name});
  i.chain = ca.cert_pem();
  auto c = crypto::Certificate::from_pem(i.cert);
  REQUIRE(c);
  i.serial = c->serial_hex();
  return i;
}

void write_version(const fs::path& dir, const Issued& i) {
  fs::create_directories(dir);
  certpilot::test::write_file(dir / "key.pem", i.key);
  certpilot::test::write_file(dir / "cert.pem", i.cert);
  certpilot::test::write_file(dir / "chain.pem", i.chain);
  certpilot::test::write_file(dir / "fullchain.pem", i.cert + i.chain);
}

// Points link at target with one rename(2), as the store and `issue --out` do.
void swap_symlink(const fs::path& link, const fs::path& target) {
  const fs::path tmp = link.string() + ".tmp-link";
  fs::remove(tmp);
  fs::create_directory_symlink(target, tmp);
  fs::rename(tmp, link);
}

// The serial on the responder page for name, or "" when the request failed.
std::string served_serial(int port, const std::string& name, const std::string& ca_file) {
  const std::string hostport = name + ":" + std::to_string(port);
  auto r = certpilot::test::run_command({"curl", "-sS", "--max-time", "5", "--cacert", ca_file, "--resolve",
                                         hostport + ":127.0.0.1", "https://" + hostport + "/"},
                                        {}, std::chrono::seconds(10));
  const auto at = r.out.find("serial: ");
  if (r.exit_code != 0 || at == std::string::npos) return "";
  std::string s = r.out.substr(at + 8, r.out.find('\n', at) - at - 8);
  // crypto prints lower case, the responder upper case
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string wait_for_serial(int port, const std::string& name, const std::string& ca_file, const std::string& want) {
  std::string got;
  for (int i = 0; i < 100; ++i) {
    got = served_serial(port, name, ca_file);
    if (got == lower(want)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

}  // namespace

TEST_CASE("serve reloads an issue --out folder swapped by symlink, refusing a bad renewal", "[integration][tls]") {
  TempDir tmp;
  auto ca = certpilot::test::TestCa::create("Serve Test CA");
  certpilot::test::write_file(tmp / "ca.pem", ca.cert_pem());
  const std::string ca_file = (tmp / "ca.pem").string();
  const auto v1 = issue(ca, "site.test");
  write_version(tmp / "out.versions" / "1", v1);
  swap_symlink(tmp / "out", tmp / "out.versions" / "1");
  const int port = free_port();
  ServeProcess server({"--certs", (tmp / "out").string(), "--listen", "127.0.0.1:" + std::to_string(port),
                       "--threads", "2"},
                      tmp / "serve.log");
  CHECK(wait_for_serial(port, "site.test", ca_file, v1.serial) == lower(v1.serial));

  const auto v2 = issue(ca, "site.test");
  write_version(tmp / "out.versions" / "2", v2);
  swap_symlink(tmp / "out", tmp / "out.versions" / "2");
  CHECK(wait_for_serial(port, "site.test", ca_file, v2.serial) == lower(v2.serial));

  auto v3 = issue(ca, "site.test");
  v3.key = issue(ca, "site.test").key;  // does not match
  write_version(tmp / "out.versions" / "3", v3);
  swap_symlink(tmp / "out", tmp / "out.versions" / "3");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(served_serial(port, "site.test", ca_file) == lower(v2.serial));
  const std::string log = certpilot::test::read_file(tmp / "serve.log");
  CHECK_THAT(log, Catch::Contains("key.pem: the key does not match the certificate in"));

  // Files rewritten in place (no symlink swap) are picked up too.
  const auto v4 = issue(ca, "site.test");
  write_version(tmp / "out.versions" / "3", v4);
  CHECK(wait_for_serial(port, "site.test", ca_file, v4.serial) == lower(v4.serial));
}

TEST_CASE("serve loads a store and follows a certificate's version symlink", "[integration][tls]") {
  TempDir tmp;
  auto ca = certpilot::test::TestCa::create("Store Test CA");
  certpilot::test::write_file(tmp / "ca.pem", ca.cert_pem());
  const std::string ca_file = (tmp / "ca.pem").string();
  const fs::path certs = tmp / "state" / "certificates";
  const auto a1 = issue(ca, "a.test");
  const auto b1 = issue(ca, "b.test");
  write_version(certs / ".a.versions" / "1", a1);
  write_version(certs / ".b.versions" / "1", b1);
  swap_symlink(certs / "a", ".a.versions/1");
  swap_symlink(certs / "b", ".b.versions/1");
  const int port = free_port();
  ServeProcess server({"--certs", (tmp / "state").string(), "--listen", "127.0.0.1:" + std::to_string(port)},
                      tmp / "serve.log");
  CHECK(wait_for_serial(port, "a.test", ca_file, a1.serial) == lower(a1.serial));
  CHECK(served_serial(port, "b.test", ca_file) == lower(b1.serial));
  const auto a2 = issue(ca, "a.test");
  write_version(certs / ".a.versions" / "2", a2);
  swap_symlink(certs / "a", ".a.versions/2");
  CHECK(wait_for_serial(port, "a.test", ca_file, a2.serial) == lower(a2.serial));
  CHECK(served_serial(port, "b.test", ca_file) == lower(b1.serial));
}

TEST_CASE("serve --self-signed serves a chain that verifies against its own CA", "[integration][tls]") {
  TempDir tmp;
  const int port = free_port();
  ServeProcess server({"--self-signed", "-d", "dev.localhost", "--state", (tmp / "state").string(), "--listen",
                       "127.0.0.1:" + std::to_string(port)},
                      tmp / "serve.log");
  const std::string ca_file = (tmp / "state" / "local-ca" / "ca.pem").string();
  std::string got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = served_serial(port, "dev.localhost", ca_file);  // curl verifies chain and name
  }
  CHECK_FALSE(got.empty());
  CHECK_THAT(certpilot::test::read_file(tmp / "serve.log"), Catch::Contains("curl --cacert " + ca_file));
}

TEST_CASE("serve --plaintext refuses public addresses unless forced", "[integration][tls]") {
  auto r = certpilot::test::run_command(
      {certpilot::test::certpilot_binary().string(), "serve", "--plaintext", "--listen", "0.0.0.0:0"}, {},
      std::chrono::seconds(10));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--plaintext refuses the non-loopback address 0.0.0.0:0"));
}

TEST_CASE("serve refuses bad -d names, conflicting flags and bad values before serving", "[integration][tls]") {
  TempDir tmp;
  const std::string state = (tmp / "state").string();
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  certpilot::test::write_file(tmp / "not-pem", "root:x:0:0:root:/root:/bin/bash\n");
  const std::string not_pem = (tmp / "not-pem").string();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      // The validator `issue -d` uses, in its words; IP addresses are fine (iPAddress entries).
      {{"--self-signed", "-d", "ok.localhost", "-d", "bad..x", "-d", "1.2.3.4"}, 2,
       "-d: invalid domain name \"bad..x\": empty label"},
      {{"--self-signed", "-d", "*.*.x"}, 2, "-d: invalid domain name \"*.*.x\": a wildcard"},
      {{"--self-signed", "-d", "1.2.3"}, 2, "-d: invalid domain name \"1.2.3\": looks like an IP address"},
      {{"--self-signed"}, 2, "--self-signed needs at least one -d NAME"},
      {{"--self-signed", "-d", "127.0.0.1", "--strict-sni"}, 2, "--strict-sni and -d 127.0.0.1 conflict"},
      {{"-d", "x.localhost", "--certs", state}, 2, "-d x.localhost is for --self-signed"},
      {{"--plaintext", "--certs", state, "--client-ca", not_pem}, 2, "--plaintext and --certs conflict"},
      {{"--plaintext", "--client-ca", not_pem}, 2, "--plaintext and --client-ca conflict"},
      {{"--plaintext", "--self-signed", "-d", "a.localhost"}, 2, "--plaintext and --self-signed conflict"},
      {{"--plaintext", "--no-session-tickets"}, 2, "--plaintext and --no-session-tickets conflict"},
      {{"--self-signed", "-d", "a.localhost", "--force-plaintext-public"}, 2,
       "--force-plaintext-public only applies with --plaintext"},
      {{"--self-signed", "-d", "a.localhost", "--client-cert-optional"}, 2,
       "--client-cert-optional needs --client-ca FILE"},
      {{"--self-signed", "-d", "a.localhost", "--client-ca", not_pem}, 2,
       "--client-ca " + not_pem + " is not a PEM certificate bundle"},
      {{"--self-signed", "-d", "a.localhost", "--proxy-protocol"}, 2, "--proxy-protocol needs --backend HOST:PORT"},
      {{"--self-signed", "-d", "a.localhost", "--handshake-timeout", "-1"}, 2,
       "--handshake-timeout -1: give a number of seconds from 1 to 86400"},
      {{"--self-signed", "-d", "a.localhost", "--idle-timeout", "0"}, 2, "--idle-timeout 0: give a number of seconds"},
      {{"--self-signed", "-d", "a.localhost", "--handshake-timeout", "99999999"}, 2, "--handshake-timeout 99999999"},
      {{"--self-signed", "-d", "a.localhost", "--max-connections", "0"}, 2, "--max-connections 0"},
      {{"--self-signed", "-d", "a.localhost", "--max-connections", "-1"}, 2, "--max-connections -1"},
      {{"--self-signed", "-d", "a.localhost", "--backend", "nothing"}, 2, "backend: address \"nothing\""},
      // Local files: the table's exit 3, as for a missing --config.
      {{"--certs", (tmp / "nonexist").string()}, 3, "--certs " + (tmp / "nonexist").string() + ": no such folder"},
      {{"--certs", not_pem}, 3, "--certs " + not_pem + " is a file, not a folder"},
      {{"--certs", tmp.path().string()}, 3, "--certs: " + tmp.path().string() + ": no certificate found"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {certpilot::test::certpilot_binary().string(), "serve", "--listen", listen,
                                     "--state", state};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = certpilot::test::run_command(argv, {}, std::chrono::seconds(10));
    INFO(certpilot::test::describe(argv, r));
    CHECK(r.exit_code == c.exit_code);
    CHECK_THAT(r.err, Catch::Contains("certpilot serve: error: " + c.message));
    CHECK(r.out.find("serving on") == std::string::npos);
    // One line: the error, and nothing served or created before it.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') <= 2);
  }
  CHECK_FALSE(fs::exists(tmp / "state" / "local-ca"));
}

TEST_CASE("serve --self-signed puts IP addresses in the certificate and says so", "[integration][tls]") {
  TempDir tmp;
  const int port = free_port();
  ServeProcess server({"--self-signed", "-d", "ip.localhost", "-d", "127.0.0.1", "-d", "IP.localhost", "--state",
                       (tmp / "state").string(), "--listen", "127.0.0.1:" + std::to_string(port)},
                      tmp / "serve.log");
  const std::string ca_file = (tmp / "state" / "local-ca" / "ca.pem").string();
  certpilot::test::CommandResult r;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // curl checks the IP against the certificate's iPAddress entries (no SNI is sent for an IP).
    r = certpilot::test::run_command(
        {"curl", "-sS", "--max-time", "5", "--cacert", ca_file, "https://127.0.0.1:" + std::to_string(port) + "/"}, {},
        std::chrono::seconds(10));
    if (r.exit_code == 0) break;
  }
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("names: ip.localhost\n"));
  CHECK_THAT(r.out, Catch::Contains("ip addresses: 127.0.0.1\n"));
  // Names normalized and deduplicated, the IP named rather than dropped.
  CHECK_THAT(certpilot::test::read_file(tmp / "serve.log"), Catch::Contains("Certificate for: ip.localhost, 127.0.0.1\n"));
}
