#include "tls/detail/context.hpp"

#include <openssl/err.h>


#include "tls/detail/pem_util.hpp"

namespace certpilot::tls::detail {

using util::fail;

namespace {

constexpr unsigned char kSessionIdContext[] = "certpilot";

void free_alpn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(ptr); }

// The ALPN list lives in the context's ex_data, so it is freed with the context: connections may
// hold a context longer than the CertSet that made it.
int alpn_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_alpn);
  return index;
}

int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
            void*) {
  const auto* wire = static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), alpn_index()));
  if (wire == nullptr || wire->empty()) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  unsigned char* selected = nullptr;
  // Server preference order: our list first, the first the client also offers wins.
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    // No common protocol: carry on without ALPN rather than fail (RFC 7301 §3.2 allows either).
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

util::Result<void> configure_client_auth(SSL_CTX* ctx, const TlsSettings& settings) {
  if (settings.client_auth == ClientAuth::none) {
    return util::ok();
  }
  const std::string source = settings.client_ca_source.empty() ? "client CA bundle" : settings.client_ca_source;
  CERTPILOT_TRY(auto cas, read_certificates(settings.client_ca_pem, source), "client certificates");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx, ca.get()) != 1) {
      return fail(util::Errc::invalid_input, source + ": cannot use CA " + subject_text(ca.get()) + ": " +
                                                 crypto::drain_openssl_errors());
    }
  }
  int mode = SSL_VERIFY_PEER;
  if (settings.client_auth == ClientAuth::required) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return util::ok();
}

}  // namespace

util::Result<std::string> encode_alpn(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return fail(util::Errc::invalid_input, "ALPN protocol name must be 1 to 255 bytes: \"" + p + "\"");
    }
    wire.push_back(static_cast<char>(p.size()));
    wire.append(p);
  }
  return wire;
}

util::Result<crypto::SslCtxPtr> new_server_context(const TlsSettings& settings) {
  crypto::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    return fail(util::Errc::internal, "SSL_CTX_new: " + crypto::drain_openssl_errors());
  }
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 || SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, settings.ciphers_tls12.c_str()) != 1 ||
      SSL_CTX_set_ciphersuites(c, settings.ciphersuites_tls13.c_str()) != 1 ||
      SSL_CTX_set1_groups_list(c, settings.groups.c_str()) != 1) {
    return fail(util::Errc::invalid_input, "TLS settings (ciphers or groups): " + crypto::drain_openssl_errors());
  }
  SSL_CTX_set_dh_auto(c, 1);  // the DHE-RSA suites of the intermediate list need parameters
  // A peer that closes TCP without close_notify ends the stream like a close_notify would; HTTP
  // clients do this all the time and it is not an attack on framing we depend on.
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  // Idle connections give their 2 x 16 KiB record buffers back: most of memory per idle connection.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read(2) for several records instead of a header read and a body read each (~12 reads per
  // short connection without it). Safe with the event loop: drive() calls SSL_read whenever it runs,
  // not only on EPOLLIN, and SSL_read reports WANT_READ only once its buffer holds no whole record.
  SSL_CTX_set_read_ahead(c, 1);
  if (SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof kSessionIdContext - 1) != 1) {
    return fail(util::Errc::internal, "session id context: " + crypto::drain_openssl_errors());
  }
  if (!settings.session_tickets) {
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    // TLS 1.3 still sends (stateful) tickets for the session cache; send none if that is off too.
    if (!settings.session_cache) {
      SSL_CTX_set_num_tickets(c, 0);
    }
  }
  if (settings.session_cache) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(c, settings.session_cache_size);
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  }
  SSL_CTX_set_timeout(c, static_cast<long>(settings.session_lifetime.count()));
  if (!settings.alpn.empty()) {
    CERTPILOT_TRY(std::string wire, encode_alpn(settings.alpn), "TLS settings");
    auto owned = std::make_unique<std::string>(std::move(wire));
    if (SSL_CTX_set_ex_data(c, alpn_index(), owned.get()) != 1) {
      return fail(util::Errc::internal, "SSL_CTX_set_ex_data: " + crypto::drain_openssl_errors());
    }
    owned.release();  // the context owns it now (freed by free_alpn)
    SSL_CTX_set_alpn_select_cb(c, &on_alpn, nullptr);
  }
  if (auto r = configure_client_auth(c, settings); !r) {
    return fail(r.error());
  }
  return ctx;
}

}  // namespace certpilot::tls::detail
