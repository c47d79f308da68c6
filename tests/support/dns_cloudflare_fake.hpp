#pragma once
// A loopback stand-in for the Cloudflare API v4 (the real one cannot be reached from tests), following
// its documented shapes: the {"success", "errors": [{"code", "message"}], "messages", "result"}
// envelope; GET /zones?name=; GET/POST /zones/<id>/dns_records; DELETE /zones/<id>/dns_records/<id>;
// Bearer token auth (403, code 10000 "Authentication error"); unknown zone id (404, code 7003);
// a duplicate record (400, code 81058 "An identical record already exists."); unknown record
// (404, code 81044). One thread; HTTP/1.1 with Connection: close.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace certpilot::test {

class FakeCloudflare {
 public:
  struct Record {
    std::string id;
    std::string zone_id;
    std::string type;
    std::string name;
    std::string content;
    long ttl = 1;
  };

  // zones: name -> id. The server accepts exactly `token`.
  FakeCloudflare(std::string token, std::map<std::string, std::string> zones);
  ~FakeCloudflare();
  FakeCloudflare(const FakeCloudflare&) = delete;
  FakeCloudflare& operator=(const FakeCloudflare&) = delete;

  std::string api_url() const;  // "http://127.0.0.1:N/client/v4"
  void add_record(const Record& r);
  std::vector<Record> records(const std::string& name) const;  // TXT records at name
  std::vector<std::string> requests() const;                   // "GET /client/v4/zones?name=a.test", ...
  // The next n requests answer 500 with an HTML body (as a failing proxy in front of the API would).
  void fail_next(int n);
  // From now on every error answer (4xx, and the 500 page of fail_next) quotes the request's
  // headers, Authorization included, in its error messages: what a debugging proxy or a careless
  // server does. Providers must not pass the token on into their errors.
  void echo_request_headers(bool on);

 private:
  void serve();
  std::string handle(const std::string& method, const std::string& target, const std::string& auth,
                     const std::string& body, int* status);
  std::string token_;
  std::map<std::string, std::string> zones_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<Record> records_;        // guarded by mu_
  std::vector<std::string> requests_;  // guarded by mu_
  int fail_next_ = 0;                  // guarded by mu_
  bool echo_headers_ = false;          // guarded by mu_
  int next_id_ = 1;                    // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::thread thread_;
};

}  // namespace certpilot::test
