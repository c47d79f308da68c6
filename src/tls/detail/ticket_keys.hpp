#pragma once
// Session-ticket keys (RFC 5077 §4 layout: key name, IV, AES-256-CBC, HMAC-SHA256), rotated on a
// schedule by the listener. The previous key still decrypts (and the ticket is then renewed), so a
// rotation never forces a full handshake on a client that resumed recently.
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <memory>

namespace certpilot::tls::detail {

class TicketKeys {
 public:
  TicketKeys() { rotate(); }
  // Thread-safe: readers see the old or the new ring, never half of one.
  void rotate();
  // The SSL_CTX_set_tlsext_ticket_key_evp_cb contract: 1 ok, 2 ok and renew, 0 unknown key, -1 error.
  // always_renew: TLS 1.3, where clients use each ticket once (RFC 8446 §C.4) and OpenSSL sends a
  // new one after resumption only when told to renew.
  int handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc,
             bool always_renew) const;

 private:
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
  };
  struct Ring {
    Key current;
    Key previous;
    bool has_previous = false;
  };
  std::atomic<std::shared_ptr<const Ring>> ring_;
};

}  // namespace certpilot::tls::detail
