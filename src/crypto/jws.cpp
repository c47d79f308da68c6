// JWS in the flattened JSON serialization (RFC 7515 §7.2.2) as ACME uses it (RFC 8555 §6.2).
#include "crypto/jws.hpp"

#include "crypto/detail/signature.hpp"
#include "util/base64url.hpp"

namespace certpilot::crypto {
namespace {

using util::Errc;
using util::fail;

Result<HmacAlg> hmac_for_jws(std::string_view alg) {
  if (alg == "HS256") {
    return HmacAlg::sha256;
  }
  if (alg == "HS384") {
    return HmacAlg::sha384;
  }
  if (alg == "HS512") {
    return HmacAlg::sha512;
  }
  return fail(Errc::invalid_input, "EAB: unsupported MAC algorithm \"" + std::string(alg) +
                                       "\"; expected HS256, HS384 or HS512");
}

std::optional<std::string> string_member(const nlohmann::json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

Result<nlohmann::json> jws_sign(const PrivateKey& key, const nlohmann::json& protected_header,
                                std::string_view payload) {
  const std::string protected_b64 = util::base64url_encode(protected_header.dump());
  // RFC 7515 §5.1: the signing input is ASCII(b64(header) || '.' || b64(payload)); an empty payload
  // (POST-as-GET, RFC 8555 §6.3) encodes as the empty string.
  const std::string payload_b64 = util::base64url_encode(payload);
  auto sig = key.sign(protected_b64 + "." + payload_b64);
  if (!sig) {
    return fail(sig.error().wrapped("JWS"));
  }
  return nlohmann::json{
      {"protected", protected_b64}, {"payload", payload_b64}, {"signature", util::base64url_encode(*sig)}};
}

Result<nlohmann::json> acme_jws(const PrivateKey& key, std::string_view url, std::string_view nonce,
                                const std::optional<std::string>& kid, std::string_view payload) {
  // RFC 8555 §6.2: alg, nonce, url, and exactly one of jwk (newAccount, revokeCert by certificate
  // key) or kid (every other request).
  nlohmann::json header = {{"alg", key.jws_alg()}, {"nonce", nonce}, {"url", url}};
  if (kid) {
    header["kid"] = *kid;
  } else {
    header["jwk"] = key.public_jwk();
  }
  return jws_sign(key, header, payload);
}

Result<nlohmann::json> eab_jws(std::string_view alg, std::string_view kid, std::string_view mac_key,
                               const nlohmann::json& account_jwk, std::string_view url) {
  auto mac_alg = hmac_for_jws(alg);
  if (!mac_alg) {
    return fail(mac_alg.error());
  }
  if (mac_key.empty()) {
    return fail(Errc::invalid_input, "EAB: the MAC key is empty");
  }
  // RFC 8555 §7.3.4: protected header {alg, kid, url} (no nonce), payload = the account's JWK, the
  // signature an HMAC with the CA-provided key.
  const nlohmann::json header = {{"alg", alg}, {"kid", kid}, {"url", url}};
  const std::string protected_b64 = util::base64url_encode(header.dump());
  const std::string payload_b64 = util::base64url_encode(account_jwk.dump());
  auto mac = hmac(*mac_alg, mac_key, protected_b64 + "." + payload_b64);
  if (!mac) {
    return fail(mac.error().wrapped("EAB"));
  }
  return nlohmann::json{
      {"protected", protected_b64}, {"payload", payload_b64}, {"signature", util::base64url_encode(*mac)}};
}

bool jws_verify(const PrivateKey& key, const nlohmann::json& jws) {
  if (!jws.is_object()) {
    return false;
  }
  const auto protected_b64 = string_member(jws, "protected");
  const auto payload_b64 = string_member(jws, "payload");
  const auto sig_b64 = string_member(jws, "signature");
  if (!protected_b64 || !payload_b64 || !sig_b64) {
    return false;
  }
  const auto header_text = util::base64url_decode(*protected_b64);
  auto sig = util::base64url_decode(*sig_b64);
  if (!header_text || !sig) {
    return false;
  }
  const auto header = nlohmann::json::parse(*header_text, nullptr, /*allow_exceptions=*/false);
  // RFC 7515 §5.2: the alg in the header must be one this key can have produced.
  if (header.is_discarded() || !header.is_object() || string_member(header, "alg") != key.jws_alg()) {
    return false;
  }
  const std::size_t coord = detail::ec_coordinate_size(key.type());
  if (coord != 0) {
    auto der = detail::ecdsa_raw_to_der(*sig, coord);
    if (!der) {
      drain_openssl_errors();
      return false;
    }
    sig = std::move(der);
  }
  const std::string input = *protected_b64 + "." + *payload_b64;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, detail::digest_for(key.type()), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (!ok) {
    drain_openssl_errors();  // a bad signature leaves entries on the queue; keep it empty
  }
  return ok;
}

}  // namespace certpilot::crypto
