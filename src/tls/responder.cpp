// The built-in HTTP/1.1 responder: without a backend, every request gets a small text page naming
// the certificate this connection was served (the README demo, and a health check that proves the
// certificate a load balancer would see).
#include <string_view>

#include "tls/detail/worker.hpp"
#include "util/strings.hpp"

namespace certpilot::tls::detail {

namespace {

constexpr std::size_t kMaxHeader = 8192;

std::string page(const Connection& c) {
  std::string body = "certpilot\n";
  if (!c.ssl) {
    body += "tls: off (plaintext, local development only)\n";
    return body;
  }
  const CertInfo* info = nullptr;
  if (c.set) {
    info = c.set->info_for(SSL_get_certificate(c.ssl.get()));
  }
  if (info != nullptr) {
    body += "names: " + util::join(info->names, ", ") + "\n";
    if (!info->ip_addresses.empty()) body += "ip addresses: " + util::join(info->ip_addresses, ", ") + "\n";
    body += "serial: " + info->serial_hex + "\n";
    body += "not after: " + info->not_after_text + "\n";
    body += std::string("key: ") + (info->key_kind == KeyKind::ecdsa ? "ecdsa" : "rsa") + "\n";
  }
  body += "sni: " + (c.sni.empty() ? std::string("(none)") : c.sni) + "\n";
  body += std::string("protocol: ") + SSL_get_version(c.ssl.get()) + " " +
          SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl.get())) + "\n";
  body += std::string("resumed: ") + (SSL_session_reused(c.ssl.get()) == 1 ? "yes" : "no") + "\n";
  if (X509* peer = SSL_get0_peer_certificate(c.ssl.get())) {
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
    body += std::string("client certificate: CN=") + cn + "\n";
  }
  return body;
}

std::string response(std::string_view status, std::string_view body, bool head, bool keep_alive) {
  std::string out;
  out.reserve(160 + body.size());
  out.append("HTTP/1.1 ").append(status).append("\r\nServer: certpilot\r\nContent-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  if (!head) {
    out.append(body);
  }
  return out;
}

}  // namespace

bool respond(Connection& c) {
  const std::size_t cap = c.worker->shared().options.buffer_size;
  if (c.up.empty()) {
    return true;
  }
  const std::string_view in(c.up.data(), c.up.size());
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() >= kMaxHeader || c.up.space(cap) == 0) {
      c.down.append(response("431 Request Header Fields Too Large", "request header too large\n", false, false), cap);
      return false;
    }
    if (c.client_eof) {
      c.up.consume(c.up.size());  // a partial request and then the end: nothing to answer
    }
    return true;
  }
  const std::string_view head = in.substr(0, end);
  const auto line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || request_line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    c.down.append(response("400 Bad Request", "bad request\n", false, false), cap);
    return false;
  }
  const std::string_view method = request_line.substr(0, sp1);
  bool keep_alive = request_line.substr(sp2 + 1) == "HTTP/1.1";
  bool has_body = false;
  if (line_end != std::string_view::npos) {
    for (const auto& field : util::split(head.substr(line_end + 2), '\n')) {
      const std::string lower = util::to_lower(util::trim(field));
      if (lower.rfind("connection:", 0) == 0) {
        const auto value = util::trim(std::string_view(lower).substr(11));
        keep_alive = value == "keep-alive" || (keep_alive && value != "close");
      } else if ((lower.rfind("content-length:", 0) == 0 && util::trim(std::string_view(lower).substr(15)) != "0") ||
                 lower.rfind("transfer-encoding:", 0) == 0) {
        has_body = true;  // bodies are not read here: answer, then close rather than misparse
      }
    }
  }
  c.up.consume(end + 4);
  if (has_body) {
    keep_alive = false;
  }
  c.down.append(response("200 OK", page(c), method == "HEAD", keep_alive), cap);
  return keep_alive;
}

}  // namespace certpilot::tls::detail
