#include "support/ari_proxy.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "util/base64url.hpp"
#include "util/time.hpp"

namespace certpilot::test {

namespace {

using nlohmann::json;
constexpr const char* kRenewalInfoPath = "/ari/renewal-info";

struct SslCtxFree { void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); } };
struct SslFree { void operator()(SSL* s) const noexcept { SSL_free(s); } };
struct CurlFree { void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); } };
struct SlistFree { void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); } };

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;  // lower-cased names
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

struct HttpReply {
  long status = 502;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent (no Content-Length/Connection)
  std::string body;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// "https://127.0.0.1:14000/dir" -> {"https://127.0.0.1:14000", "/dir"}.
std::pair<std::string, std::string> split_url(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

std::string reason_phrase(long status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    default: return "Status";
  }
}

size_t collect_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    reply->headers.clear();  // a new response (after 100 Continue): start over
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    reply->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

// The JWS payload of a flattened JSON serialization (RFC 7515 §7.2.2), decoded; null when absent.
json jws_payload(const std::string& body) {
  const json jws = json::parse(body, nullptr, false);
  if (!jws.is_object() || !jws.contains("payload") || !jws["payload"].is_string()) return nullptr;
  const auto raw = util::base64url_decode(jws["payload"].get<std::string>());
  if (!raw) return nullptr;
  const json payload = json::parse(*raw, nullptr, false);
  return payload.is_discarded() ? json(nullptr) : payload;
}

}  // namespace

RenewalInfoAnswer window_from_now(std::chrono::seconds from, std::chrono::seconds to,
                                  std::optional<std::chrono::seconds> retry_after) {
  const auto now = std::chrono::system_clock::now();
  RenewalInfoAnswer a;
  a.window_start = std::chrono::time_point_cast<std::chrono::seconds>(now + from);
  a.window_end = std::chrono::time_point_cast<std::chrono::seconds>(now + to);
  a.retry_after = retry_after;
  return a;
}

struct AriProxy::Impl {
  std::string upstream_origin, upstream_dir_path, ca_bundle;
  std::string new_order_path, new_nonce_path;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  int listen_fd = -1;
  std::string origin;  // https://127.0.0.1:P
  std::atomic<bool> stop{false};
  std::thread acceptor;

  mutable std::mutex mu;
  RenewalInfoAnswer default_answer;                    // guarded by mu
  std::map<std::string, RenewalInfoAnswer> answers;    // guarded by mu
  bool reject_replaces = false;                        // guarded by mu
  std::vector<std::string> info_requests;              // guarded by mu
  std::vector<SeenNewOrder> orders;                    // guarded by mu
  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Conn> conns;                               // guarded by mu
  std::set<int> open_fds;                              // guarded by mu

  HttpReply forward(const HttpRequest& req) const;
  HttpReply renewal_info(const std::string& cert_id);
  HttpReply handle(const HttpRequest& req);
  void serve_connection(int fd);
  void accept_loop();
};

HttpReply AriProxy::Impl::forward(const HttpRequest& req) const {
  HttpReply reply;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    reply.body = "ari proxy: curl_easy_init failed";
    return reply;
  }
  // Pebble builds its URLs from the Host header: the proxy's, so every URL it returns is ours.
  curl_slist* list = curl_slist_append(nullptr, ("Host: " + origin.substr(origin.find("://") + 3)).c_str());
  for (const char* name : {"content-type", "user-agent", "accept", "accept-language"}) {
    if (auto v = req.header(name); !v.empty()) list = curl_slist_append(list, (std::string(name) + ": " + v).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  const std::unique_ptr<curl_slist, SlistFree> headers(list);
  const std::string url = upstream_origin + req.target;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CAINFO, ca_bundle.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (const CURLcode rc = curl_easy_perform(c); rc != CURLE_OK) {
    reply = HttpReply{};
    reply.body = std::string("ari proxy: forwarding to ") + url + ": " + curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  std::erase_if(reply.headers, [](const auto& h) {
    return h.first == "content-length" || h.first == "transfer-encoding" || h.first == "connection" ||
           h.first == "keep-alive";
  });
  // Belt and braces: a URL that still names Pebble's origin is moved to ours.
  replace_all(reply.body, upstream_origin, origin);
  for (auto& h : reply.headers) replace_all(h.second, upstream_origin, origin);
  return reply;
}

HttpReply AriProxy::Impl::renewal_info(const std::string& cert_id) {
  RenewalInfoAnswer a;
  {
    std::lock_guard lock(mu);
    info_requests.push_back(cert_id);
    const auto it = answers.find(cert_id);
    a = it == answers.end() ? default_answer : it->second;
  }
  HttpReply reply;
  reply.status = a.status;
  if (a.retry_after) reply.headers.emplace_back("retry-after", std::to_string(a.retry_after->count()));
  if (a.raw_body) {
    reply.headers.emplace_back("content-type", "application/json");
    reply.body = *a.raw_body;
    return reply;
  }
  // RFC 9773 §4.2.
  json doc = {{"suggestedWindow", {{"start", util::format_rfc3339(a.window_start)},
                                   {"end", util::format_rfc3339(a.window_end)}}}};
  if (!a.explanation_url.empty()) doc["explanationURL"] = a.explanation_url;
  reply.headers.emplace_back("content-type", "application/json");
  reply.body = doc.dump();
  return reply;
}

HttpReply AriProxy::Impl::handle(const HttpRequest& req) {
  const std::string path = req.target.substr(0, req.target.find('?'));
  const std::string info_prefix = std::string(kRenewalInfoPath) + "/";
  if (req.method == "GET" && path.rfind(info_prefix, 0) == 0) return renewal_info(path.substr(info_prefix.size()));
  if (req.method == "POST" && path == new_order_path) {
    SeenNewOrder seen;
    const json payload = jws_payload(req.body);
    if (payload.is_object()) {
      if (payload.contains("replaces") && payload["replaces"].is_string()) seen.replaces = payload["replaces"].get<std::string>();
      for (const auto& id : payload.value("identifiers", json::array())) {
        if (id.is_object() && id.contains("value") && id["value"].is_string()) seen.identifiers.push_back(id["value"].get<std::string>());
      }
    }
    {
      std::lock_guard lock(mu);
      seen.rejected = seen.replaces && reject_replaces;
      if (seen.rejected) reject_replaces = false;
      orders.push_back(seen);
    }
    if (seen.rejected) {
      // RFC 9773 §5: the certificate named by `replaces` has already been replaced. The nonce in
      // this JWS never reached Pebble; hand out a fresh one as an ACME error response does (§6.5).
      HttpReply reply;
      reply.status = 409;
      reply.headers.emplace_back("content-type", "application/problem+json");
      HttpReply nonce = forward({"HEAD", new_nonce_path, {}, {}});
      for (const auto& h : nonce.headers) {
        if (h.first == "replay-nonce") reply.headers.push_back(h);
      }
      reply.body = json{{"type", "urn:ietf:params:acme:error:alreadyReplaced"},
                        {"detail", "ari proxy: certificate " + *seen.replaces + " was already replaced"},
                        {"status", 409}}
                       .dump();
      return reply;
    }
  }
  HttpReply reply = forward(req);
  if (req.method == "GET" && path == upstream_dir_path && reply.status == 200) {
    json dir = json::parse(reply.body, nullptr, false);
    if (dir.is_object()) {
      dir["renewalInfo"] = origin + kRenewalInfoPath;
      reply.body = dir.dump();
    }
  }
  return reply;
}

void AriProxy::Impl::serve_connection(int fd) {
  // Bounded waits: a client that goes silent cannot keep this thread (or the destructor) forever.
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) {
    ERR_clear_error();
    return;
  }
  std::string data;
  char buf[8192];
  std::size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      ERR_clear_error();
      return;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  HttpRequest req;
  std::size_t content_length = 0;
  std::size_t pos = 0;
  bool first = true;
  while (pos < header_end) {
    auto eol = data.find("\r\n", pos);
    if (eol == std::string::npos || eol > header_end) eol = header_end;
    const std::string line = data.substr(pos, eol - pos);
    pos = eol + 2;
    if (first) {
      first = false;
      const auto sp1 = line.find(' ');
      const auto sp2 = line.find(' ', sp1 + 1);
      if (sp1 == std::string::npos) return;
      req.method = line.substr(0, sp1);
      req.target = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    req.headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
    if (req.headers.back().first == "content-length") content_length = std::stoul(req.headers.back().second);
  }
  req.body = data.substr(header_end + 4);
  while (req.body.size() < content_length) {
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      ERR_clear_error();
      return;
    }
    req.body.append(buf, static_cast<std::size_t>(n));
  }
  const HttpReply reply = handle(req);
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
  for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(req.method == "HEAD" ? 0 : reply.body.size()) +
         "\r\nConnection: close\r\n\r\n";
  if (req.method != "HEAD") out += reply.body;
  std::size_t off = 0;
  while (off < out.size()) {
    const int n = SSL_write(ssl.get(), out.data() + off, static_cast<int>(out.size() - off));
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  (void)SSL_shutdown(ssl.get());
  ERR_clear_error();
}

void AriProxy::Impl::accept_loop() {
  while (!stop) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu);
    // Join the connections that are done, so threads do not pile up over a long test.
    for (auto it = conns.begin(); it != conns.end();) {
      if (*it->done) {
        it->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    open_fds.insert(fd);
    conns.push_back({std::thread([this, fd, done] {
                       serve_connection(fd);
                       {
                         std::lock_guard l(mu);
                         open_fds.erase(fd);
                       }
                       ::close(fd);
                       *done = true;
                     }),
                     done});
  }
}

std::unique_ptr<AriProxy> AriProxy::start(const PebbleFixture& pebble) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto impl = std::make_unique<Impl>();
  std::tie(impl->upstream_origin, impl->upstream_dir_path) = split_url(pebble.directory_url());
  impl->ca_bundle = pebble.ca_bundle_path();
  impl->default_answer = window_from_now(std::chrono::hours(24 * 30), std::chrono::hours(24 * 31), std::chrono::hours(6));

  // Pebble's own TLS identity (pebble/start.sh): valid for IP:127.0.0.1 and signed by the bundle.
  const std::filesystem::path dir = pebble.state_dir();
  impl->ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!impl->ctx || SSL_CTX_use_certificate_chain_file(impl->ctx.get(), (dir / "pebble-cert.pem").c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(impl->ctx.get(), (dir / "pebble-key.pem").c_str(), SSL_FILETYPE_PEM) != 1) {
    ERR_clear_error();
    throw std::runtime_error("AriProxy: cannot load Pebble's TLS certificate from " + dir.string());
  }

  impl->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (impl->listen_fd < 0 || ::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl->listen_fd, 64) != 0 ||
      ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (impl->listen_fd >= 0) ::close(impl->listen_fd);
    throw std::runtime_error("AriProxy: cannot listen on 127.0.0.1");
  }
  impl->origin = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  // The directory names the endpoints the proxy watches (on our origin, thanks to the Host header).
  const HttpReply dir_reply = impl->forward({"GET", impl->upstream_dir_path, {}, {}});
  const json d = json::parse(dir_reply.body, nullptr, false);
  if (dir_reply.status != 200 || !d.is_object() || !d.contains("newOrder") || !d.contains("newNonce")) {
    ::close(impl->listen_fd);
    throw std::runtime_error("AriProxy: Pebble's directory is unusable: " + dir_reply.body.substr(0, 300));
  }
  impl->new_order_path = split_url(d["newOrder"].get<std::string>()).second;
  impl->new_nonce_path = split_url(d["newNonce"].get<std::string>()).second;
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<AriProxy>(new AriProxy(std::move(impl)));
}

AriProxy::AriProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AriProxy::~AriProxy() {
  impl_->stop = true;
  impl_->acceptor.join();
  std::list<Impl::Conn> conns;
  {
    std::lock_guard lock(impl_->mu);
    for (const int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);  // wakes reads still waiting
    conns.swap(impl_->conns);
  }
  for (auto& c : conns) c.thread.join();
  ::close(impl_->listen_fd);
}

std::string AriProxy::directory_url() const { return impl_->origin + impl_->upstream_dir_path; }
std::string AriProxy::renewal_info_url() const { return impl_->origin + kRenewalInfoPath; }

void AriProxy::set_default_answer(RenewalInfoAnswer answer) {
  std::lock_guard lock(impl_->mu);
  impl_->default_answer = std::move(answer);
}

void AriProxy::set_answer(const std::string& cert_id, RenewalInfoAnswer answer) {
  std::lock_guard lock(impl_->mu);
  impl_->answers[cert_id] = std::move(answer);
}

void AriProxy::reject_next_replaces() {
  std::lock_guard lock(impl_->mu);
  impl_->reject_replaces = true;
}

std::vector<std::string> AriProxy::renewal_info_requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->info_requests;
}

std::vector<SeenNewOrder> AriProxy::new_orders() const {
  std::lock_guard lock(impl_->mu);
  return impl_->orders;
}

void AriProxy::clear_records() {
  std::lock_guard lock(impl_->mu);
  impl_->info_requests.clear();
  impl_->orders.clear();
}

}  // namespace certpilot::test
