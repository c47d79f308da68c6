// dns/challtestsrv against a loopback stand-in for pebble-challtestsrv's management API.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "dns/challtestsrv/challtestsrv_provider.hpp"

using namespace certpilot;
using util::Errc;

namespace {

struct Seen {
  std::string request_line;  // "POST /set-txt HTTP/1.1"
  std::string content_type;
  std::string user_agent;
  std::string body;
};

// One connection at a time; answers every request with `status` and `reply`.
class FakeChalltestsrv {
 public:
  FakeChalltestsrv(int status, std::string reply) : status_(status), reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeChalltestsrv() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  FakeChalltestsrv(const FakeChalltestsrv&) = delete;
  FakeChalltestsrv& operator=(const FakeChalltestsrv&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  void serve() {
    while (readable(fd_)) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }
  void handle(int c) {
    std::string data;
    char buf[4096];
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!readable(c)) return;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
    }
    Seen s;
    s.request_line = data.substr(0, data.find("\r\n"));
    std::size_t length = 0;
    std::size_t pos = data.find("\r\n") + 2;
    while (pos < end) {
      const std::size_t eol = data.find("\r\n", pos);
      const std::string line = data.substr(pos, eol - pos);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const std::string value = colon == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', colon + 1));
      if (name == "content-length") length = std::stoul(value);
      if (name == "content-type") s.content_type = value;
      if (name == "user-agent") s.user_agent = value;
      pos = eol + 2;
    }
    s.body = data.substr(end + 4);
    while (s.body.size() < length) {
      if (!readable(c)) return;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      s.body.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      seen_.push_back(s);
    }
    const std::string resp = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: " +
                             std::to_string(reply_.size()) + "\r\nConnection: close\r\n\r\n" + reply_;
    (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
  }

  int status_;
  std::string reply_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Seen> seen_;  // guarded by mu_
  std::thread thread_;
};

dns::ProviderPtr make(const std::string& url) {
  auto p = dns::ChalltestsrvProvider::create({{"url", url}});
  REQUIRE(p);
  return std::move(*p);
}

const dns::TxtRecord kRecord{"x.test", "_acme-challenge.x.test", "v", std::chrono::seconds(60)};

}  // namespace

TEST_CASE("challtestsrv: present POSTs /set-txt with the FQDN's trailing dot, cleanup /clear-txt", "[dns]") {
  FakeChalltestsrv srv(200, "");
  auto p = make(srv.url() + "/");  // a trailing slash is dropped
  CHECK(p->name() == "challtestsrv");
  REQUIRE(p->present(kRecord));
  REQUIRE(p->cleanup(kRecord));
  const auto seen = srv.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].request_line == "POST /set-txt HTTP/1.1");
  CHECK(seen[0].content_type == "application/json");
  // The client's options are built inside src/, so this is the real default User-Agent.
  CHECK_THAT(seen[0].user_agent, Catch::StartsWith("certpilot/"));
  CHECK(seen[0].user_agent != "certpilot/unit-test");
  CHECK(nlohmann::json::parse(seen[0].body) ==
        nlohmann::json{{"host", "_acme-challenge.x.test."}, {"value", "v"}});
  CHECK(seen[1].request_line == "POST /clear-txt HTTP/1.1");
  CHECK(nlohmann::json::parse(seen[1].body) == nlohmann::json{{"host", "_acme-challenge.x.test."}});
}

TEST_CASE("challtestsrv: a non-200 answer is Errc::dns quoting the body", "[dns]") {
  FakeChalltestsrv srv(500, "internal error:\nno such host\n");
  auto p = make(srv.url());
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK(r.error().message ==
        "challtestsrv: POST " + srv.url() + "/set-txt answered HTTP 500: internal error: no such host");
  auto c = p->cleanup(kRecord);
  REQUIRE_FALSE(c);
  CHECK(c.error().code == Errc::dns);
  CHECK_THAT(c.error().message, Catch::Contains("/clear-txt answered HTTP 500"));
}

TEST_CASE("challtestsrv: nobody listening is a network error wrapped with the provider", "[dns]") {
  // Bind and release a port so nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto p = make(url);
  auto r = p->present(kRecord);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::network);
  CHECK_THAT(r.error().message, Catch::StartsWith("challtestsrv: POST: " + url + "/set-txt: cannot connect"));
}

TEST_CASE("challtestsrv: create() rejects unknown options and non-http URLs", "[dns]") {
  auto unknown = dns::ChalltestsrvProvider::create({{"host", "127.0.0.1"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::invalid_input);
  CHECK(unknown.error().message == "challtestsrv: unknown option 'host' (known: url)");

  auto bad_url = dns::ChalltestsrvProvider::create({{"url", "127.0.0.1:8055"}});
  REQUIRE_FALSE(bad_url);
  CHECK(bad_url.error().code == Errc::invalid_input);
  CHECK(bad_url.error().message == "challtestsrv: url '127.0.0.1:8055' is not an http(s) URL");

  CHECK(dns::ChalltestsrvProvider::create({}));  // the default URL
}
