// http/client against a tiny HTTP/1.1 server on 127.0.0.1 run in a thread of the test.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "http/client.hpp"
#include "util/strings.hpp"

using namespace certpilot;
using util::Errc;

namespace {

struct SeenRequest {
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

// Handler result: the raw bytes to send; "" = close without answering; nullopt = never answer
// (hold the connection open until the server stops).
using Handler = std::function<std::optional<std::string>(const SeenRequest&)>;

class LoopbackHttp {
 public:
  explicit LoopbackHttp(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackHttp() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  LoopbackHttp(const LoopbackHttp&) = delete;
  LoopbackHttp& operator=(const LoopbackHttp&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void serve() {
    while (wait_readable(listen_fd_)) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }

  void handle(int fd) {
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(fd)) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
    }
    SeenRequest req;
    const auto lines = util::split(data.substr(0, header_end), '\n');
    const auto parts = util::split(util::trim(lines.at(0)), ' ');
    req.method = parts.at(0);
    req.target = parts.size() > 1 ? parts[1] : "";
    std::size_t content_length = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const auto colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      const std::string name = util::to_lower(util::trim(lines[i].substr(0, colon)));
      const std::string value(util::trim(std::string_view(lines[i]).substr(colon + 1)));
      req.headers.emplace(name, value);
      if (name == "content-length") content_length = std::stoul(value);
    }
    req.body = data.substr(header_end + 4);
    while (req.body.size() < content_length) {
      if (!wait_readable(fd)) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    const auto response = handler_(req);
    if (!response) {
      while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) return;  // client gave up
      }
      return;
    }
    std::size_t off = 0;
    while (off < response->size()) {
      const ssize_t n = ::send(fd, response->data() + off, response->size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;  // guarded by mu_
  std::thread thread_;
};

std::string canned(const std::string& status_line, const std::vector<std::string>& headers, const std::string& body) {
  std::string out = "HTTP/1.1 " + status_line + "\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return out;
}

std::unique_ptr<http::HttpClient> client(http::HttpOptions options = {}) {
  auto c = http::HttpClient::create(std::move(options));
  REQUIRE(c);
  return std::move(*c);
}

std::string first(const std::multimap<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? std::string("<missing>") : it->second;
}

}  // namespace

TEST_CASE("GET: status, body and lower-cased, trimmed headers", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return canned("200 OK",
                  {"Content-Type: application/json", "Replay-Nonce:   nonce-abc  ", "LINK: <https://ca.test/dir>;rel=\"index\"",
                   "Link: <https://ca.test/alt>;rel=\"alternate\"", "Retry-After: 30", "Location: https://ca.test/acct/1"},
                  "{\"ok\":true}");
  });
  auto c = client();
  auto r = c->get(server.url("/directory"), {{"Accept", "application/json"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->url == server.url("/directory"));
  CHECK(r->body == "{\"ok\":true}");
  CHECK(r->header("replay-nonce") == std::optional<std::string>("nonce-abc"));
  CHECK(r->header("location") == std::optional<std::string>("https://ca.test/acct/1"));
  CHECK(r->header("content-type") == std::optional<std::string>("application/json"));
  CHECK_FALSE(r->header("Replay-Nonce"));  // lookups are by the lower-case name
  CHECK(r->links("index") == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(r->links("alternate") == std::vector<std::string>{"https://ca.test/alt"});
  CHECK(r->retry_after(util::SysTime{}) == std::chrono::seconds(30));

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "GET");
  CHECK(reqs[0].target == "/directory");
  CHECK(first(reqs[0].headers, "accept") == "application/json");
  CHECK_THAT(first(reqs[0].headers, "user-agent"), Catch::StartsWith("certpilot/"));
}

TEST_CASE("POST sends the body, Content-Type and no Expect: 100-continue", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return canned("201 Created", {"Content-Type: application/problem+json"}, "{}");
  });
  http::HttpOptions opts;
  opts.user_agent = "certpilot/test-ua";
  auto c = client(opts);
  const std::string payload(5000, 'p');  // large enough that curl would otherwise send Expect
  auto r = c->post(server.url("/new-order"), payload, "application/jose+json");
  REQUIRE(r);
  CHECK(r->status == 201);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].body == payload);
  CHECK(first(reqs[0].headers, "content-type") == "application/jose+json");
  CHECK(first(reqs[0].headers, "user-agent") == "certpilot/test-ua");
  CHECK(reqs[0].headers.count("expect") == 0);
}

TEST_CASE("HEAD and error statuses are responses, not errors", "[http]") {
  LoopbackHttp server([](const SeenRequest& req) {
    if (req.method == "HEAD") return std::optional<std::string>(canned("200 OK", {"Replay-Nonce: n1"}, ""));
    return std::optional<std::string>(canned("503 Service Unavailable", {"Retry-After: 120"}, "busy"));
  });
  auto c = client();
  auto head = c->send({"HEAD", server.url("/new-nonce"), {}, {}});
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("replay-nonce") == std::optional<std::string>("n1"));
  auto busy = c->get(server.url("/busy"));
  REQUIRE(busy);
  CHECK(busy->status == 503);
  CHECK(busy->body == "busy");
  CHECK(busy->retry_after(util::SysTime{}) == std::chrono::seconds(120));
}

TEST_CASE("after 100 Continue only the final response's headers are kept", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" + canned("200 OK", {"X-Final: yes"}, "done");
  });
  auto c = client();
  auto r = c->get(server.url("/"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "done");
  CHECK(r->header("x-final") == std::optional<std::string>("yes"));
  CHECK_FALSE(r->header("x-interim"));
}

TEST_CASE("a connection closed without an answer is retried", "[http]") {
  std::atomic<int> calls{0};
  LoopbackHttp server([&](const SeenRequest&) -> std::optional<std::string> {
    if (calls++ == 0) return std::string();  // hang up: curl sees "empty reply"
    return canned("200 OK", {}, "second time");
  });
  http::HttpOptions opts;
  opts.transport_retries = 1;
  auto c = client(opts);
  auto r = c->get(server.url("/flaky"));
  REQUIRE(r);
  CHECK(r->body == "second time");
  CHECK(server.requests().size() == 2);
}

TEST_CASE("a POST that may have reached the server is never sent twice", "[http]") {
  std::atomic<int> calls{0};
  LoopbackHttp server([&](const SeenRequest&) -> std::optional<std::string> {
    ++calls;
    return std::string();  // read the request, then hang up without answering
  });
  http::HttpOptions opts;
  opts.transport_retries = 2;
  auto c = client(opts);
  auto r = c->post(server.url("/new-order"), "{}", "application/jose+json");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == util::Errc::network);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("connection refused is Errc::network naming the URL", "[http]") {
  // A port that was free a moment ago and has no listener now.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/directory";

  http::HttpOptions opts;
  opts.transport_retries = 0;
  auto c = client(opts);
  auto r = c->get(url);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::network);
  CHECK_THAT(r.error().message, Catch::StartsWith("GET: " + url + ": cannot connect"));
}

TEST_CASE("a server that never answers gives Errc::timeout", "[http]") {
  LoopbackHttp server([](const SeenRequest&) { return std::optional<std::string>(); });
  http::HttpOptions opts;
  opts.request_timeout = std::chrono::seconds(1);
  auto c = client(opts);
  auto r = c->get(server.url("/slow"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  CHECK_THAT(r.error().message, Catch::Contains(server.url("/slow")) && Catch::Contains("timed out"));
}

TEST_CASE("a URL that is not http(s) is invalid_input", "[http]") {
  auto c = client();
  auto r = c->get("ftp://127.0.0.1/file");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK_THAT(r.error().message, Catch::Contains("ftp://127.0.0.1/file") && Catch::Contains("not a valid http(s) URL"));
}
