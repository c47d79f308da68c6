#include "tls/detail/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <mutex>

namespace certpilot::tls::detail {

namespace {

int set_mac_key(EVP_MAC_CTX* mac, const std::array<unsigned char, 32>& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.data()), key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params);
}

}  // namespace

void TicketKeys::rotate() {
  // Rotations are rare; the mutex only keeps two concurrent rotations from losing a key.
  static std::mutex rotate_mu;
  std::lock_guard lock(rotate_mu);
  auto next = std::make_shared<Ring>();
  if (RAND_bytes(next->current.name.data(), 16) != 1 || RAND_bytes(next->current.aes.data(), 32) != 1 ||
      RAND_bytes(next->current.hmac.data(), 32) != 1) {
    return;  // keep the old keys: better a stale key than a predictable one
  }
  if (const auto old = ring_.load()) {
    next->previous = old->current;
    next->has_previous = true;
  }
  ring_.store(std::move(next));
}

int TicketKeys::handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                       int enc, bool always_renew) const {
  const auto ring = ring_.load();
  if (!ring) {
    return -1;
  }
  if (enc == 1) {
    const Key& k = ring->current;
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) {
      return -1;
    }
    std::memcpy(key_name, k.name.data(), 16);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1 || set_mac_key(mac, k.hmac) != 1) {
      return -1;
    }
    return 1;
  }
  const Key* k = nullptr;
  int found = 0;
  if (std::memcmp(key_name, ring->current.name.data(), 16) == 0) {
    k = &ring->current;
    found = 1;
  } else if (ring->has_previous && std::memcmp(key_name, ring->previous.name.data(), 16) == 0) {
    k = &ring->previous;
    found = 2;  // decrypts, but the client should get a ticket under the current key
  }
  if (k == nullptr) {
    return 0;  // unknown or expired key: a full handshake follows
  }
  if (set_mac_key(mac, k->hmac) != 1 || EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->aes.data(), iv) != 1) {
    return -1;
  }
  return always_renew ? 2 : found;
}

}  // namespace certpilot::tls::detail
