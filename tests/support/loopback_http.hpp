#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 (port 0) run in a thread of a unit test: it records each
// request and answers what the test's handler returns. For clients of HTTP APIs (http/, providers).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace certpilot::test {

struct SeenRequest {
  std::string request_line;  // "POST /set-txt HTTP/1.1"
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // lower-cased names
  std::string body;
  // The first value of a header ("" when absent).
  std::string header(const std::string& lower_name) const;
};

// Handler result: the raw bytes to send; "" = close without answering; nullopt = never answer
// (hold the connection open until the server stops).
using Handler = std::function<std::optional<std::string>(const SeenRequest&)>;

class LoopbackHttp {
 public:
  explicit LoopbackHttp(Handler handler);
  ~LoopbackHttp();
  LoopbackHttp(const LoopbackHttp&) = delete;
  LoopbackHttp& operator=(const LoopbackHttp&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<SeenRequest> requests() const;

 private:
  bool wait_readable(int fd);
  void serve();
  void handle(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;  // guarded by mu_
  std::thread thread_;
};

// "HTTP/1.1 <status_line>" with the headers, Content-Length and Connection: close.
std::string canned(const std::string& status_line, const std::vector<std::string>& headers, const std::string& body);

// A loopback port nothing listens on (bound, then released).
std::uint16_t unused_loopback_port();

}  // namespace certpilot::test
