#pragma once
// Test-only blocking OpenSSL client over loopback, with receive/send timeouts so a broken server
// fails a test instead of hanging it.
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace certpilot::tls::test {

struct SessionFree {
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

struct ClientOptions {
  std::string sni;                 // empty: no SNI
  std::string sigalgs;             // e.g. "RSA-PSS+SHA256" to exclude ECDSA; empty: OpenSSL's default
  int max_version = TLS1_3_VERSION;
  std::vector<std::string> alpn;
  std::string cert_pem;            // client certificate (mTLS)
  std::string key_pem;
  std::string ca_pem;              // when set, the served chain must verify against it
  SSL_SESSION* resume = nullptr;   // a session to offer
  bool no_tickets = false;
};

// One connection: handshake, optional HTTP exchange.
class TlsConn {
 public:
  TlsConn(std::uint16_t port, const ClientOptions& options);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string leaf_serial() const;           // upper-case hex
  std::vector<std::string> chain_subjects() const;  // as sent by the server, leaf first
  std::string key_type() const;              // "ecdsa" / "rsa"
  bool resumed() const;
  std::string alpn() const;
  SessionPtr session() const;                // for resumption (reads post-handshake tickets first)
  // Sends a keep-alive GET and returns the full response ("" on failure).
  std::string get(const std::string& host = "test");
  bool write_all(const std::string& data);
  std::string read_some();                   // "" on EOF/error
  // Sends close_notify; reading stays possible (half-close).
  void shutdown_write();
  std::uint16_t local_port() const;
  SSL* ssl() const { return ssl_; }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  std::string error_;
};

// Plain TCP connect to 127.0.0.1:port; -1 on failure. Receive timeout 5 s.
int tcp_connect(std::uint16_t port);

}  // namespace certpilot::tls::test
