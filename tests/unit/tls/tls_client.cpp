#include "tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "crypto/ossl.hpp"

namespace certpilot::tls::test {

int tcp_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TlsConn::TlsConn(std::uint16_t port, const ClientOptions& o) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT);
  SSL_CTX_set_max_proto_version(ctx_, o.max_version);
  if (!o.sigalgs.empty()) {
    SSL_CTX_set1_sigalgs_list(ctx_, o.sigalgs.c_str());
  }
  if (o.no_tickets) {
    SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
  }
  if (!o.ca_pem.empty()) {
    crypto::BioPtr bio(BIO_new_mem_buf(o.ca_pem.data(), static_cast<int>(o.ca_pem.size())));
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
      X509_free(ca);
    }
    ERR_clear_error();
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_pem.empty()) {
    crypto::BioPtr cb(BIO_new_mem_buf(o.cert_pem.data(), static_cast<int>(o.cert_pem.size())));
    crypto::X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    crypto::BioPtr kb(BIO_new_mem_buf(o.key_pem.data(), static_cast<int>(o.key_pem.size())));
    crypto::EvpPkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    SSL_CTX_use_certificate(ctx_, cert.get());
    SSL_CTX_use_PrivateKey(ctx_, key.get());
  }
  ssl_ = SSL_new(ctx_);
  if (!o.sni.empty()) {
    SSL_set_tlsext_host_name(ssl_, o.sni.c_str());
    if (!o.ca_pem.empty()) {
      SSL_set1_host(ssl_, o.sni.c_str());
    }
  }
  if (!o.alpn.empty()) {
    std::string wire;
    for (const auto& p : o.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  if (o.resume != nullptr) {
    SSL_set_session(ssl_, o.resume);
  }
  fd_ = tcp_connect(port);
  if (fd_ < 0) {
    error_ = "connect failed";
    return;
  }
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    error_ = "handshake: " + crypto::drain_openssl_errors();
    return;
  }
  ok_ = true;
}

TlsConn::~TlsConn() {
  if (ok_) {
    // A session freed without close_notify is marked not resumable (ssl_clear_bad_session).
    SSL_shutdown(ssl_);
  }
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(ctx_);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  ERR_clear_error();
}

std::string TlsConn::leaf_serial() const {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer == nullptr) {
    return "";
  }
  crypto::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr));
  crypto::OsslStringPtr hex(BN_bn2hex(bn.get()));
  return hex.get();
}

std::vector<std::string> TlsConn::chain_subjects() const {
  std::vector<std::string> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(sk_X509_value(chain, i)), NID_commonName, cn, sizeof cn);
    out.emplace_back(cn);
  }
  return out;
}

std::string TlsConn::key_type() const {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer == nullptr) {
    return "";
  }
  return EVP_PKEY_get_base_id(X509_get0_pubkey(peer)) == EVP_PKEY_EC ? "ecdsa" : "rsa";
}

bool TlsConn::resumed() const { return SSL_session_reused(ssl_) == 1; }

std::string TlsConn::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

SessionPtr TlsConn::session() const { return SessionPtr(SSL_get1_session(ssl_)); }

bool TlsConn::write_all(const std::string& data) {
  std::size_t n = 0;
  return SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1 && n == data.size();
}

std::string TlsConn::read_some() {
  char buf[16384];
  std::size_t n = 0;
  if (SSL_read_ex(ssl_, buf, sizeof buf, &n) != 1) {
    ERR_clear_error();
    return "";
  }
  return std::string(buf, n);
}

void TlsConn::shutdown_write() { SSL_shutdown(ssl_); }

std::uint16_t TlsConn::local_port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string TlsConn::get(const std::string& host) {
  if (!write_all("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) {
    return "";
  }
  std::string resp;
  while (true) {
    const auto head_end = resp.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const auto cl = resp.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) {
        const std::size_t len = std::stoul(resp.substr(cl + 16));
        if (resp.size() >= head_end + 4 + len) {
          return resp;
        }
      }
    }
    std::string more = read_some();
    if (more.empty()) {
      return "";
    }
    resp += more;
  }
}

}  // namespace certpilot::tls::test
