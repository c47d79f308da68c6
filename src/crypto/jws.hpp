#pragma once
// JWS in the flattened JSON serialization (RFC 7515 §7.2.2), as ACME uses it (RFC 8555 §6.2).
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/key.hpp"

namespace certpilot::crypto {

// {"protected": b64u(header), "payload": b64u(payload), "signature": b64u(sig)}.
// An empty payload string gives "payload": "" (POST-as-GET, RFC 8555 §6.3).
Result<nlohmann::json> jws_sign(const PrivateKey& key, const nlohmann::json& protected_header,
                                std::string_view payload);

// The ACME request body: protected header {alg, nonce, url, and jwk or kid}. Without kid the
// public JWK is embedded (newAccount, revocation by certificate key).
Result<nlohmann::json> acme_jws(const PrivateKey& key, std::string_view url, std::string_view nonce,
                                const std::optional<std::string>& kid, std::string_view payload);

// External Account Binding (RFC 8555 §7.3.4): a JWS over the account's public JWK, signed with the
// CA-provided MAC key. alg is "HS256", "HS384" or "HS512"; mac_key is the raw (decoded) key.
Result<nlohmann::json> eab_jws(std::string_view alg, std::string_view kid, std::string_view mac_key,
                               const nlohmann::json& account_jwk, std::string_view url);

// Verifies a flattened JWS made by jws_sign with the public part of key (tests and key rollover).
bool jws_verify(const PrivateKey& key, const nlohmann::json& jws);

}  // namespace certpilot::crypto
