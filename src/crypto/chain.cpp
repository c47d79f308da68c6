// Certificate chains as ACME serves them (RFC 8555 §7.4.2) and their verification (RFC 5280 §6).
#include <ctime>

#include <set>

#include "crypto/certificate.hpp"
#include "util/domain_name.hpp"
#include "util/strings.hpp"

namespace certpilot::crypto {
namespace {

using util::Errc;
using util::fail;

std::string join_pem(std::vector<Certificate>::const_iterator first, std::vector<Certificate>::const_iterator last) {
  std::string out;
  for (auto it = first; it != last; ++it) {
    out += it->to_pem();
  }
  return out;
}

std::string describe(X509* cert) {
  if (cert == nullptr) {
    return "unknown certificate";
  }
  X509_up_ref(cert);  // adopt() takes over this extra reference
  return Certificate::adopt(X509Ptr(cert)).subject();
}

}  // namespace

Result<CertificateChain> CertificateChain::from_pem(std::string_view pem) {
  auto certs = parse_pem_certificates(pem);
  if (!certs) {
    return fail(certs.error().wrapped("certificate chain"));
  }
  return from_certificates(std::move(*certs));
}

Result<CertificateChain> CertificateChain::from_certificates(std::vector<Certificate> certs) {
  if (certs.empty()) {
    return fail(Errc::invalid_input, "certificate chain: no certificates");
  }
  return CertificateChain(std::move(certs));
}

std::string CertificateChain::leaf_pem() const { return certs_.front().to_pem(); }
std::string CertificateChain::intermediates_pem() const { return join_pem(certs_.begin() + 1, certs_.end()); }
std::string CertificateChain::full_pem() const { return join_pem(certs_.begin(), certs_.end()); }
std::string CertificateChain::top_issuer_cn() const { return certs_.back().issuer_cn(); }

Result<void> CertificateChain::verify(const std::vector<Certificate>& roots, util::SysTime at,
                                      const std::optional<std::string>& hostname) const {
  if (roots.empty()) {
    return fail(Errc::tls, "verifying certificate chain: no trusted roots given");
  }
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) {
    return fail(Errc::internal, "verifying certificate chain: out of memory");
  }
  for (const auto& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {  // takes its own reference
      // Adding the same root twice is harmless; anything else is not.
      drain_openssl_errors();
    }
  }
  for (auto it = certs_.begin() + 1; it != certs_.end(); ++it) {
    if (sk_X509_push(untrusted.get(), it->get()) == 0) {
      return fail(Errc::internal, "verifying certificate chain: out of memory");
    }
    X509_up_ref(it->get());  // the owning stack frees its entries
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf().get(), untrusted.get()) != 1) {
    return fail(Errc::internal, "verifying certificate chain: " + drain_openssl_errors());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());  // owned by ctx
  // Trust only a path that ends at one of the given roots: no partial chains ending at an
  // intermediate (X509_V_FLAG_PARTIAL_CHAIN stays off).
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(at));
  if (hostname) {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, hostname->data(), hostname->size()) != 1) {
      return fail(Errc::invalid_input, "verifying certificate chain: invalid hostname \"" + *hostname + "\"");
    }
  }
  if (X509_verify_cert(ctx.get()) == 1) {
    drain_openssl_errors();
    return util::ok();
  }
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  std::string message = "verifying certificate chain: certificate " + describe(X509_STORE_CTX_get_current_cert(ctx.get())) +
                        " (depth " + std::to_string(depth) + "): " + X509_verify_cert_error_string(err);
  if (err == X509_V_ERR_HOSTNAME_MISMATCH && hostname) {
    message += " (wanted " + *hostname + ")";
  }
  drain_openssl_errors();
  return fail(Errc::tls, std::move(message));
}

std::string CertificateChain::mismatch(const PrivateKey& key, const std::vector<std::string>& names) const {
  const auto& cert = leaf();
  if (!cert.matches_key(key)) {
    return "the private key does not belong to the certificate " + cert.subject() + " (serial " + cert.serial_hex() + ")";
  }
  if (names.empty()) return "";
  const auto normalized = [](const std::vector<std::string>& in) {
    std::set<std::string> out;
    for (const auto& n : in) {
      auto norm = util::normalize_domain(n);
      out.insert(norm ? *norm : util::to_lower(n));
    }
    return std::vector<std::string>(out.begin(), out.end());
  };
  const auto want = normalized(names);
  const auto have = normalized(cert.dns_names());
  if (want == have) return "";
  return "the certificate names [" + util::join(have, ", ") + "] but [" + util::join(want, ", ") + "] was requested";
}

}  // namespace certpilot::crypto
