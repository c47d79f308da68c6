#pragma once
// Every SSL_CTX the listener uses (the front context each connection starts on, and the one per
// certificate it switches to on SNI) gets the same settings, because after SSL_set_SSL_CTX some
// are read from the new context (ALPN callback, verify store) and others stay with the SSL (verify
// mode, options): making them identical removes the question of which one wins.
#include "crypto/ossl.hpp"
#include "tls/settings.hpp"
#include "util/result.hpp"

namespace certpilot::tls::detail {

util::Result<crypto::SslCtxPtr> new_server_context(const TlsSettings& settings);

// ALPN wire format ("\x02h2\x08http/1.1"); protocols longer than 255 bytes are an error.
util::Result<std::string> encode_alpn(const std::vector<std::string>& protocols);

}  // namespace certpilot::tls::detail
