#include "http/client.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::http {
namespace {

const util::Logger kLog("http");

struct CurlFree {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* s) const noexcept { curl_slist_free_all(s); }
};
using CurlPtr = std::unique_ptr<CURL, CurlFree>;
using CurlSlistPtr = std::unique_ptr<curl_slist, SlistFree>;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    resp->headers.clear();  // a new response (after 100 Continue): keep only the final headers
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    resp->headers.emplace(util::to_lower(util::trim(line.substr(0, colon))),
                          std::string(util::trim(line.substr(colon + 1))));
  }
  return size * n;
}

// A failure after the request may have reached the server is retried only for GET/HEAD: a POST
// replayed to an ACME CA (newOrder, finalize, keyChange) or a DNS API must not happen twice.
// (curl itself retries a request once on a reused connection the server had closed.)
bool retryable(CURLcode code, const std::string& method) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return true;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return method == "GET" || method == "HEAD";
    default:
      return false;
  }
}

int abort_when_cancelled(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return util::cancel_requested() ? 1 : 0;
}

util::Error transport_error(CURLcode code, const std::string& url, const char* detail, const HttpOptions& opts) {
  std::string what = detail && *detail ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {util::Errc::timeout, url + ": timed out (" + what + ")"};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: {
      std::string hint = opts.ca_bundle.empty()
                             ? "; if the CA uses a private root, pass it with --ca-bundle FILE"
                             : "; check that --ca-bundle " + opts.ca_bundle + " holds the root that signed the server's certificate";
      return {util::Errc::tls, url + ": TLS verification failed: " + what + hint};
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return {util::Errc::network, url + ": cannot resolve host (" + what + ")"};
    case CURLE_COULDNT_CONNECT:
      return {util::Errc::network, url + ": cannot connect (" + what + "); is the server running and the URL right?"};
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {util::Errc::invalid_input, url + ": not a valid http(s) URL (" + what + ")"};
    default:
      return {util::Errc::network, url + ": " + what};
  }
}

}  // namespace

Result<void> check_ca_bundle(const std::string& path) {
  const std::string fix = "; give the PEM file of the root(s) that signed the server's HTTPS certificate";
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
    // A folder, a FIFO or a device: curl wants one file (and reading a FIFO could block here).
    return util::fail(util::Errc::invalid_input, "CA bundle " + path + " is not a file" + fix);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return util::fail(util::Errc::io, "CA bundle " + path + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  // What OpenSSL's PEM_X509_INFO_read_bio, which curl uses for CAINFO, takes as a certificate.
  for (const char* begin : {"-----BEGIN CERTIFICATE-----", "-----BEGIN TRUSTED CERTIFICATE-----",
                            "-----BEGIN X509 CERTIFICATE-----"}) {
    if (pem.find(begin) != std::string::npos) {
      return util::ok();
    }
  }
  return util::fail(util::Errc::invalid_input,
                    "CA bundle " + path + " is not a PEM certificate bundle (no -----BEGIN CERTIFICATE----- line)" + fix);
}

struct HttpClient::Impl {
  HttpOptions options;
  CurlPtr curl;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpOptions options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options.ca_bundle.empty()) {
    if (auto r = check_ca_bundle(options.ca_bundle); !r) return util::fail(r.error());
  }
  CurlPtr curl(curl_easy_init());
  if (!curl) return util::fail(util::Errc::internal, "http: curl_easy_init failed");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->curl = std::move(curl);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<Response> HttpClient::send(const Request& request) {
  const HttpOptions& opts = impl_->options;
  CURL* c = impl_->curl.get();
  for (int attempt = 0;; ++attempt) {
    curl_easy_reset(c);  // keeps the connection cache, so the next request reuses the connection
    Response resp;
    resp.url = request.url;
    char errbuf[CURL_ERROR_SIZE] = {0};
    CurlSlistPtr headers;
    for (const auto& h : request.headers) {
      const std::string line = h.name + ": " + h.value;
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) return util::fail(util::Errc::internal, "http: out of memory");
      (void)headers.release();  // curl_slist_append returned the (possibly new) head that owns the list
      headers.reset(next);
    }
    // An empty Expect: stops curl from waiting for 100-continue on larger POST bodies.
    curl_slist* with_expect = curl_slist_append(headers.get(), "Expect:");
    if (with_expect != nullptr) {
      (void)headers.release();
      headers.reset(with_expect);
    }
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, opts.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.request_timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (!opts.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts.ca_bundle.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    // Ctrl-C/SIGTERM must not wait out a server that hangs (request_timeout is 60 s): curl calls
    // this about once a second even when nothing moves. A CancelShield (clean-up) keeps it going.
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_when_cancelled);
    if (request.method == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    const CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
      kLog.debug("response", {{"method", request.method}, {"url", request.url}, {"status", resp.status}});
      return resp;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return util::fail(util::Errc::cancelled, request.method + " " + request.url + ": interrupted");
    }
    if (retryable(rc, request.method) && attempt < opts.transport_retries) {
      kLog.debug("transport failure, retrying", {{"url", request.url}, {"error", curl_easy_strerror(rc)}});
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
      continue;
    }
    return util::fail(transport_error(rc, request.url, errbuf, opts).wrapped(request.method));
  }
}

Result<Response> HttpClient::get(const std::string& url, std::vector<Header> headers) {
  return send(Request{"GET", url, std::move(headers), {}});
}

Result<Response> HttpClient::post(const std::string& url, std::string body, const std::string& content_type,
                                  std::vector<Header> headers) {
  headers.push_back({"Content-Type", content_type});
  return send(Request{"POST", url, std::move(headers), std::move(body)});
}

std::string curl_version_string() { return curl_version(); }

}  // namespace certpilot::http
