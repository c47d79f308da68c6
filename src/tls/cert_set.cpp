#include "tls/cert_set.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>

#include <algorithm>
#include <map>

#include "tls/detail/context.hpp"
#include "tls/detail/pem_util.hpp"
#include "util/strings.hpp"

namespace certpilot::tls {

using util::Errc;
using util::fail;

namespace {

struct AltNames {
  std::vector<std::string> dns;  // lower-case, without a trailing dot
  std::vector<std::string> ips;  // as text
};

AltNames alt_names(X509* cert) {
  AltNames out;
  crypto::GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.dns.push_back(normalize_name(
          std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s))));
    } else if (gn->type == GEN_IPADD) {
      const int len = ASN1_STRING_length(gn->d.iPAddress);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      char text[INET6_ADDRSTRLEN] = {};
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(gn->d.iPAddress), text, sizeof text) != nullptr) {
        out.ips.emplace_back(text);
      }
    }
  }
  if (out.dns.empty()) {
    // No DNS name in subjectAltName: fall back to the CN, as browsers no longer do but old tools still expect.
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      out.dns.push_back(normalize_name(cn));
    }
  }
  ERR_clear_error();
  return out;
}

std::string describe_cert(std::size_t index, X509* cert) {
  return "certificate " + std::to_string(index + 1) + " (" + detail::subject_text(cert) + ")";
}

// Each certificate must be valid at `now`, and each must be issued (and signed) by the next one.
util::Result<void> check_chain(const std::vector<crypto::X509Ptr>& certs, util::SysTime now, const std::string& src) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  for (std::size_t i = 0; i < certs.size(); ++i) {
    X509* cert = certs[i].get();
    if (X509_cmp_time(X509_get0_notAfter(cert), &t) <= 0) {
      return fail(Errc::invalid_input, src + ": " + describe_cert(i, cert) + " expired at " +
                                           detail::format_time(detail::asn1_to_time(X509_get0_notAfter(cert))));
    }
    if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0) {
      return fail(Errc::invalid_input, src + ": " + describe_cert(i, cert) + " is not valid before " +
                                           detail::format_time(detail::asn1_to_time(X509_get0_notBefore(cert))));
    }
    if (i + 1 < certs.size()) {
      X509* issuer = certs[i + 1].get();
      EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
      if (X509_check_issued(issuer, cert) != X509_V_OK || issuer_key == nullptr || X509_verify(cert, issuer_key) != 1) {
        ERR_clear_error();
        return fail(Errc::invalid_input, src + ": chain out of order or broken: " + describe_cert(i + 1, issuer) +
                                             " did not issue " + describe_cert(i, cert));
      }
    }
  }
  return util::ok();
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  return util::to_lower(name);
}

Result<std::shared_ptr<const CertEntry>> CertEntry::create(const CertMaterial& material, util::SysTime now) {
  CERTPILOT_TRY(auto certs, detail::read_certificates(material.chain_pem, material.chain_source), "certificate chain");
  CERTPILOT_TRY(auto key, detail::read_private_key(material.key_pem, material.key_source), "private key");
  const std::string& src = material.chain_source;
  X509* leaf = certs.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_input,
                material.key_source + ": the key does not match the certificate in " + material.chain_source);
  }
  KeyKind kind;
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_EC: kind = KeyKind::ecdsa; break;
    case EVP_PKEY_RSA: kind = KeyKind::rsa; break;
    default:
      return fail(Errc::invalid_input, material.key_source + ": unsupported key type (ECDSA and RSA only)");
  }
  if (auto r = check_chain(certs, now, src); !r) {
    return fail(r.error());
  }
  std::shared_ptr<CertEntry> entry(new CertEntry());
  entry->info_.source = src;
  auto names = alt_names(leaf);
  entry->info_.names = std::move(names.dns);
  entry->info_.ip_addresses = std::move(names.ips);
  if (entry->info_.names.empty()) {
    return fail(Errc::invalid_input, src + ": the certificate names no DNS name (no subjectAltName, no CN)");
  }
  entry->info_.serial_hex = detail::serial_hex(leaf);
  entry->info_.not_after = detail::asn1_to_time(X509_get0_notAfter(leaf));
  entry->info_.not_after_text = detail::format_time(entry->info_.not_after);
  entry->info_.key_kind = kind;
  entry->intermediates_.reset(sk_X509_new_null());
  if (!entry->intermediates_) {
    return fail(Errc::internal, "out of memory");
  }
  for (std::size_t i = 1; i < certs.size(); ++i) {
    if (sk_X509_push(entry->intermediates_.get(), certs[i].get()) == 0) {
      return fail(Errc::internal, "sk_X509_push failed");
    }
    certs[i].release();  // the stack owns it now
  }
  entry->leaf_ = std::move(certs.front());
  entry->key_ = std::move(key);
  return std::shared_ptr<const CertEntry>(std::move(entry));
}

Result<std::shared_ptr<const CertSet>> CertSet::build(std::vector<CertEntryPtr> entries, const TlsSettings& settings,
                                                      const SniOptions& sni) {
  if (entries.empty()) {
    return fail(Errc::invalid_input, "no certificate to serve");
  }
  // Per name: the newest ECDSA and the newest RSA entry. Names that pick the same pair share a context.
  struct Pick {
    const CertEntry* ecdsa = nullptr;
    const CertEntry* rsa = nullptr;
  };
  std::map<std::string, Pick> picks;
  for (const auto& e : entries) {
    for (const auto& name : e->info().names) {
      Pick& p = picks[name];
      const CertEntry*& slot = e->info().key_kind == KeyKind::ecdsa ? p.ecdsa : p.rsa;
      if (slot == nullptr || slot->info().not_after < e->info().not_after) {
        slot = e.get();
      }
    }
  }
  std::shared_ptr<CertSet> set(new CertSet());
  std::map<std::pair<const CertEntry*, const CertEntry*>, std::size_t> context_of_pair;
  for (const auto& [name, pick] : picks) {
    const auto pair = std::make_pair(pick.ecdsa, pick.rsa);
    auto it = context_of_pair.find(pair);
    if (it == context_of_pair.end()) {
      CERTPILOT_TRY(auto ctx, detail::new_server_context(settings), "building context for " + name);
      for (const CertEntry* e : {pick.ecdsa, pick.rsa}) {
        if (e == nullptr) {
          continue;
        }
        if (SSL_CTX_use_certificate(ctx.get(), e->leaf()) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), e->key()) != 1 ||
            SSL_CTX_set1_chain(ctx.get(), e->intermediates()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
          return fail(Errc::invalid_input, e->info().source + ": OpenSSL refused the certificate: " +
                                               crypto::drain_openssl_errors());
        }
      }
      it = context_of_pair.emplace(pair, set->contexts_.size()).first;
      set->contexts_.push_back(std::move(ctx));
    }
    set->by_name_.emplace(name, it->second);
  }
  for (const auto& e : entries) {
    set->info_by_leaf_.emplace(e->leaf(), &e->info());
  }
  set->entries_ = std::move(entries);
  if (!sni.default_name.empty()) {
    // Not covered (yet: the registry may add it with the next certificate): no default for now,
    // which callers can see through default_missing().
    SSL_CTX* ctx = set->select(normalize_name(sni.default_name));
    for (std::size_t i = 0; i < set->contexts_.size(); ++i) {
      if (set->contexts_[i].get() == ctx) {
        set->default_ = static_cast<std::ptrdiff_t>(i);
      }
    }
    set->default_missing_ = set->default_ < 0;
  }
  if (sni.default_name.empty() && sni.default_to_first) {
    set->default_ = static_cast<std::ptrdiff_t>(set->by_name_.at(set->entries_.front()->info().names.front()));
  }
  return std::shared_ptr<const CertSet>(std::move(set));
}

SSL_CTX* CertSet::select(std::string_view server_name) const {
  if (!server_name.empty()) {
    const std::string name = normalize_name(server_name);
    if (auto it = by_name_.find(name); it != by_name_.end()) {
      return contexts_[it->second].get();
    }
    // RFC 6125 §6.4.3: a wildcard stands for exactly one left-most label.
    if (const auto dot = name.find('.'); dot != std::string::npos && dot > 0 && dot + 1 < name.size()) {
      if (auto it = by_name_.find("*" + name.substr(dot)); it != by_name_.end()) {
        return contexts_[it->second].get();
      }
    }
  }
  return default_ >= 0 ? contexts_[static_cast<std::size_t>(default_)].get() : nullptr;
}

const CertInfo* CertSet::info_for(const X509* leaf) const {
  const auto it = info_by_leaf_.find(leaf);
  return it == info_by_leaf_.end() ? nullptr : it->second;
}

}  // namespace certpilot::tls
