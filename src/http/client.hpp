#pragma once
// libcurl client for the CA and DNS provider APIs. One HttpClient keeps one curl easy handle, so
// requests reuse the TLS connection (an ACME order is ~10 requests to one host). Not thread-safe:
// one client per thread or per order.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::http {

using util::Result;

struct HttpOptions {
  std::string ca_bundle;  // PEM file of trusted roots; empty = the system store
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds request_timeout{60};
  // Extra attempts after a transport failure: connection refused for any method; a reset or an
  // empty reply only for GET/HEAD (a POST may have been processed).
  int transport_retries = 2;
  std::string user_agent = std::string("certpilot/") + CERTPILOT_VERSION;
};

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string body;
};

struct Response {
  long status = 0;
  std::string url;                          // the URL requested
  std::multimap<std::string, std::string> headers;  // names lower-cased, values trimmed
  std::string body;

  std::optional<std::string> header(const std::string& lower_name) const;
  // Link header targets with the given rel (RFC 8288), e.g. "alternate", "up", "index".
  std::vector<std::string> links(const std::string& rel) const;
  // Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to now.
  std::optional<std::chrono::seconds> retry_after(util::SysTime now) const;
};

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> create(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any status is a success here; errors are transport failures (Errc::network, Errc::tls,
  // Errc::timeout) naming the URL and what curl saw.
  Result<Response> send(const Request& request);
  Result<Response> get(const std::string& url, std::vector<Header> headers = {});
  Result<Response> post(const std::string& url, std::string body, const std::string& content_type,
                        std::vector<Header> headers = {});

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Checks that `path` is a PEM file holding at least one certificate, so that a wrong file is named
// before any connection (curl would only report "error setting certificate file" as a TLS failure).
// Errc::io when it cannot be read; Errc::invalid_input when it is not a regular file or has no
// CERTIFICATE block. Called by HttpClient::create for HttpOptions::ca_bundle. Thread-safe.
Result<void> check_ca_bundle(const std::string& path);

// Parses an RFC 8288 Link header value into (target, rel) pairs; exposed for tests.
std::vector<std::pair<std::string, std::string>> parse_link_header(const std::string& value);

// libcurl and the libraries it was built with, e.g. "libcurl/7.88.1 OpenSSL/3.0.15 zlib/1.2.13 ...".
std::string curl_version_string();

}  // namespace certpilot::http
