#pragma once
// TLS settings shared by every context the listener builds: protocol versions, ciphers, groups,
// ALPN, session resumption and client certificates. Plain data; copied into each CertSet.
#include <chrono>
#include <string>
#include <vector>

namespace certpilot::tls {

enum class ClientAuth { none, optional, required };

struct TlsSettings {
  // Mozilla "intermediate" (server-side-tls v5.7): TLS 1.2 suites; TLS 1.3 suites are all AEAD.
  std::string ciphers_tls12 =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
      "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
  std::string ciphersuites_tls13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  std::string groups = "X25519:P-256";
  // Offered in our preference order; the first one the client also offers wins. Empty: no ALPN.
  std::vector<std::string> alpn = {"h2", "http/1.1"};

  // Resumption. Tickets are encrypted with keys the listener rotates every ticket_key_rotation;
  // the previous key still decrypts, so a ticket lives at most two rotations.
  bool session_tickets = true;
  std::chrono::seconds ticket_key_rotation{std::chrono::hours(1)};
  bool session_cache = true;
  long session_cache_size = 20480;
  std::chrono::seconds session_lifetime{std::chrono::hours(2)};

  // mTLS: PEM bundle of the CAs whose client certificates are accepted.
  ClientAuth client_auth = ClientAuth::none;
  std::string client_ca_pem;
  std::string client_ca_source;  // file name for error messages
};

}  // namespace certpilot::tls
