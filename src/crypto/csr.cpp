// PKCS#10 certificate requests for ACME finalize (RFC 8555 §7.4, RFC 2986).
#include "crypto/csr.hpp"

namespace certpilot::crypto {
namespace {

using util::Errc;
using util::fail;

struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree>;

// A SAN extension with every name as a dNSName (RFC 5280 §4.2.1.6).
Result<X509ExtPtr> san_extension(const std::vector<std::string>& names) {
  GeneralNamesPtr gens(GENERAL_NAMES_new());
  if (!gens) {
    return fail(Errc::internal, "out of memory");
  }
  for (const auto& name : names) {
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (ia5 == nullptr || gen == nullptr ||
        ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      GENERAL_NAME_free(gen);
      return fail(Errc::internal, "building subjectAltName: " + drain_openssl_errors());
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);  // gen owns ia5 now
    if (sk_GENERAL_NAME_push(gens.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return fail(Errc::internal, "building subjectAltName: out of memory");
    }
  }
  X509ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens.get()));
  if (!ext) {
    return fail(Errc::internal, "encoding subjectAltName: " + drain_openssl_errors());
  }
  return ext;
}

Result<void> check_names(const std::vector<std::string>& names) {
  if (names.empty()) {
    return fail(Errc::invalid_input, "no names given");
  }
  for (const auto& name : names) {
    // dNSName is an IA5String: reject what could not be a DNS name before the CA does.
    if (name.empty()) {
      return fail(Errc::invalid_input, "empty name");
    }
    for (const char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f) {
        return fail(Errc::invalid_input, "name \"" + name + "\" contains a character not allowed in a dNSName");
      }
    }
  }
  return util::ok();
}

}  // namespace

Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<std::string>& names) {
  if (auto ok = check_names(names); !ok) {
    return fail(ok.error().wrapped("CSR"));
  }
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) {  // 0 encodes version 1, the only one (RFC 2986 §4.1)
    return fail(Errc::internal, "CSR: " + drain_openssl_errors());
  }
  // The CN is optional for ACME (RFC 8555 §7.4: the CA reads the SANs) and limited to 64 characters
  // (RFC 5280 ub-common-name), so a longer first name simply goes without one.
  const std::string& first = names.front();
  if (first.size() <= 64) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());  // owned by req
    if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(first.data()),
                                   static_cast<int>(first.size()), -1, 0) != 1) {
      return fail(Errc::internal, "CSR: setting the subject CN: " + drain_openssl_errors());
    }
  }
  auto san = san_extension(names);
  if (!san) {
    return fail(san.error().wrapped("CSR"));
  }
  ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts || sk_X509_EXTENSION_push(exts.get(), san->get()) == 0) {
    return fail(Errc::internal, "CSR: out of memory");
  }
  san->release();  // the stack owns the extension now
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 || X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return fail(Errc::internal, "CSR: signing: " + drain_openssl_errors());
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) {
    return fail(Errc::internal, "CSR: encoding: " + drain_openssl_errors());
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

}  // namespace certpilot::crypto
