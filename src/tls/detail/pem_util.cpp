#include "tls/detail/pem_util.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>
#include "util/time.hpp"

namespace certpilot::tls::detail {

using util::fail;

namespace {

crypto::BioPtr mem_bio(std::string_view pem) {
  return crypto::BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

util::Result<std::vector<crypto::X509Ptr>> read_certificates(std::string_view pem, std::string_view source) {
  const std::string where(source);
  crypto::BioPtr bio = mem_bio(pem);
  if (!bio) {
    return fail(util::Errc::internal, where + ": out of memory");
  }
  std::vector<crypto::X509Ptr> certs;
  while (crypto::X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    certs.push_back(std::move(cert));
  }
  // Running out of PEM blocks ends with PEM_R_NO_START_LINE: end of input, not an error.
  const unsigned long err = ERR_peek_last_error();
  if (err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    ERR_clear_error();
  } else {
    return fail(util::Errc::invalid_input, where + ": certificate " + std::to_string(certs.size() + 1) +
                                               " is broken: " + crypto::drain_openssl_errors());
  }
  if (certs.empty()) {
    return fail(util::Errc::invalid_input, where + ": no CERTIFICATE block found");
  }
  return certs;
}

util::Result<crypto::EvpPkeyPtr> read_private_key(std::string_view pem, std::string_view source) {
  const std::string where(source);
  crypto::BioPtr bio = mem_bio(pem);
  if (!bio) {
    return fail(util::Errc::internal, where + ": out of memory");
  }
  crypto::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return fail(util::Errc::invalid_input, where + ": no usable private key: " + crypto::drain_openssl_errors());
  }
  return key;
}

util::SysTime asn1_to_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return {};
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string format_time(util::SysTime t) { return util::format_rfc3339(t); }

std::string serial_hex(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  crypto::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) {
    return "";
  }
  crypto::OsslStringPtr hex(BN_bn2hex(bn.get()));
  return hex ? std::string(hex.get()) : std::string();
}

std::string subject_text(const X509* cert) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    return "";
  }
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace certpilot::tls::detail
