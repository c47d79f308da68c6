// X.509 certificate parsing and inspection (RFC 5280).
#include "crypto/certificate.hpp"

#include <openssl/pem.h>

#include <ctime>

#include "crypto/detail/pem.hpp"

namespace certpilot::crypto {
namespace {

using util::Errc;
using util::fail;

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string name_rfc2253(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::string name_cn(const X509_NAME* name) {
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) {
    return {};
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    drain_openssl_errors();
    return {};
  }
  OsslStringPtr owner(reinterpret_cast<char*>(utf8));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

util::SysTime asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    drain_openssl_errors();
    return util::SysTime{};
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

Result<Certificate> parse_block(const detail::PemBlock& block, std::size_t index) {
  const std::string where = "certificate #" + std::to_string(index + 1);
  if (!block.complete) {
    return fail(Errc::invalid_input,
                where + ": truncated " + (block.label.empty() ? "PEM" : block.label) + " block (no END line)");
  }
  if (block.label != "CERTIFICATE") {
    return fail(Errc::invalid_input, where + ": found a " + block.label + " block, expected CERTIFICATE");
  }
  const auto der = detail::decode_pem_body(block);
  if (!der) {
    return fail(Errc::invalid_input, where + ": CERTIFICATE block is not valid base64");
  }
  auto cert = Certificate::from_der(*der);
  if (!cert) {
    return fail(cert.error().wrapped(where));
  }
  return cert;
}

}  // namespace

Result<std::vector<Certificate>> parse_pem_certificates(std::string_view pem) {
  const auto blocks = detail::scan_pem(pem);
  if (blocks.empty()) {
    return fail(Errc::invalid_input, "no CERTIFICATE block found");
  }
  std::vector<Certificate> certs;
  certs.reserve(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto cert = parse_block(blocks[i], i);
    if (!cert) {
      return fail(cert.error());
    }
    certs.push_back(std::move(*cert));
  }
  return certs;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto certs = parse_pem_certificates(pem);
  if (!certs) {
    return fail(certs.error());
  }
  if (certs->size() != 1) {
    return fail(Errc::invalid_input,
                "expected exactly one CERTIFICATE block, found " + std::to_string(certs->size()));
  }
  return std::move(certs->front());
}

Result<Certificate> Certificate::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    return fail(Errc::invalid_input, "not a DER certificate: " + drain_openssl_errors());
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return fail(Errc::invalid_input, "trailing bytes after the DER certificate");
  }
  return adopt(std::move(cert));
}

Certificate Certificate::adopt(X509Ptr cert) { return Certificate(std::shared_ptr<X509>(cert.release(), X509_free)); }

std::string Certificate::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::string Certificate::to_der() const {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert_.get(), &der);
  if (len <= 0) {
    drain_openssl_errors();
    return {};
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

std::vector<std::string> Certificate::dns_names() const {
  std::vector<std::string> names;
  GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!gens) {
    drain_openssl_errors();  // absent or undecodable: either way, no names
    return names;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens.get(), i);
    if (gen->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gen->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  return names;
}

std::string Certificate::subject() const { return name_rfc2253(X509_get_subject_name(cert_.get())); }
std::string Certificate::issuer() const { return name_rfc2253(X509_get_issuer_name(cert_.get())); }
std::string Certificate::subject_cn() const { return name_cn(X509_get_subject_name(cert_.get())); }
std::string Certificate::issuer_cn() const { return name_cn(X509_get_issuer_name(cert_.get())); }
util::SysTime Certificate::not_before() const { return asn1_time(X509_get0_notBefore(cert_.get())); }
util::SysTime Certificate::not_after() const { return asn1_time(X509_get0_notAfter(cert_.get())); }

std::string Certificate::serial_der() const {
  // The content octets of the DER INTEGER (RFC 5280 §4.1.2.2), a leading 0x00 included when the
  // high bit is set: exactly what ARI's certificate identifier encodes (RFC 9773 §4.1).
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert_.get()), &der);
  if (len <= 0) {
    drain_openssl_errors();
    return {};
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  const auto* p = reinterpret_cast<const unsigned char*>(der);
  long content_len = 0;
  int tag = 0;
  int cls = 0;
  if ((ASN1_get_object(&p, &content_len, &tag, &cls, len) & 0x80) != 0) {
    drain_openssl_errors();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(content_len));
}

std::string Certificate::serial_hex() const { return to_hex(serial_der()); }

std::optional<std::string> Certificate::authority_key_id() const {
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert_.get());
  if (akid == nullptr) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid)),
                     static_cast<std::size_t>(ASN1_STRING_length(akid)));
}

bool Certificate::is_ca() const {
  // X509_get_extension_flags caches the decoded extensions; EXFLAG_CA is basicConstraints cA=TRUE.
  return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0;
}

bool Certificate::matches_key(const PrivateKey& key) const {
  const EVP_PKEY* pub = X509_get0_pubkey(cert_.get());
  const bool match = pub != nullptr && EVP_PKEY_eq(pub, key.get()) == 1;
  drain_openssl_errors();  // a type mismatch (EC vs RSA) leaves an entry behind
  return match;
}

std::string Certificate::public_key_der() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert_.get()), &der);
  if (len <= 0) {
    drain_openssl_errors();
    return {};
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

}  // namespace certpilot::crypto
