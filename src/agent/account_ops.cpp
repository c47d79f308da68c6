#include "agent/account_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/ca_session.hpp"
#include "crypto/certificate.hpp"
#include "store/store.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

util::Result<store::Store> open_store(const std::string& state_dir) {
  store::StoreOptions options;
  options.root = state_dir;
  CERTPILOT_TRY(auto store, store::Store::open(options), "state folder " + state_dir);
  return store;
}

// 0600, written and fsync'ed before it is relied on.
util::Result<void> write_private_file(const std::filesystem::path& path, const std::string& content) {
  util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return util::fail(util::Errc::io, "cannot write " + path.string() + ": " + std::strerror(errno));
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()) || ::fsync(fd.get()) != 0 ||
      fd.close() != 0) {
    return util::fail(util::Errc::io, "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return util::ok();
}

AccountReport report_of(const CaSession& session, const acme::Account& account, const store::Store& store) {
  return {account.url, account.status, account.contact, session.client->account_key()->jwk_thumbprint(),
          store.root().string(), {}};
}

}  // namespace

util::Result<AccountReport> show_account(const CaSettings& ca, const std::string& state_dir) {
  CERTPILOT_TRY(auto store, open_store(state_dir), "account");
  CERTPILOT_TRY(auto session, open_ca_session(ca, store, AccountMode::existing_only), "account");
  CERTPILOT_TRY(auto account, session.client->fetch_account(), "account");
  return report_of(session, account, store);
}

util::Result<AccountReport> rollover_account_key(const CaSettings& ca, const std::string& state_dir) {
  CERTPILOT_TRY(auto store, open_store(state_dir), "account rollover");
  CERTPILOT_TRY(auto session, open_ca_session(ca, store, AccountMode::existing_only), "account rollover");
  CERTPILOT_TRY(auto new_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p256), "account rollover");
  CERTPILOT_TRY_VOID(write_private_file(session.account_dir / kPendingRolloverKey, new_key.to_pem()),
                     "account rollover");
  CERTPILOT_TRY_VOID(session.client->rollover_key(new_key), "account rollover");
  // The CA now knows only the new key: losing it here would lose the account, so say so loudly.
  auto saved = store.save_account(session.account, new_key);
  if (!saved) {
    return util::fail(saved.error().wrapped(
        "the CA switched the account to a new key, but saving it failed; the account is unusable until fixed"));
  }
  CERTPILOT_TRY(auto account, session.client->fetch_account(), "account rollover");
  return report_of(session, account, store);
}

util::Result<AccountReport> deactivate_account(const CaSettings& ca, const std::string& state_dir) {
  CERTPILOT_TRY(auto store, open_store(state_dir), "account deactivate");
  CERTPILOT_TRY(auto session, open_ca_session(ca, store, AccountMode::existing_only), "account deactivate");
  CERTPILOT_TRY(auto account, session.client->deactivate_account(), "account deactivate");
  kLog.info("account deactivated", {{"account", account.url}});
  const auto marker = session.account_dir / kDeactivatedMarker;
  if (auto r = write_private_file(marker, account.url + "\n"); !r) {
    // The CA has deactivated it either way; later runs then get the CA's refusal instead of ours.
    kLog.warn("could not mark the stored account deactivated", {{"error", r.error().message}});
  }
  auto report = report_of(session, account, store);
  report.note = "the account can no longer be used; " + replace_account_hint(session.account_dir, store);
  return report;
}

util::Result<std::string> revoke(const RevokeOptions& options) {
  std::ifstream in(options.cert_file, std::ios::binary);
  if (!in) return util::fail(util::Errc::io, "cannot read --cert " + options.cert_file + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  CERTPILOT_TRY(auto chain, crypto::CertificateChain::from_pem(ss.str()), "--cert " + options.cert_file);
  const auto& leaf = chain.leaf();
  if (leaf.is_ca()) {
    // chain.pem holds the intermediates: the CA would answer `unauthorized`, which hides the mix-up.
    return util::fail(util::Errc::invalid_input, "--cert " + options.cert_file + " starts with a CA certificate (" +
                                                     leaf.subject_cn() + "), not the one to revoke; "
                                                     "pass cert.pem or fullchain.pem");
  }
  if (options.reason && (*options.reason < 0 || *options.reason > 10 || *options.reason == 7)) {
    // RFC 5280 §5.3.1: 7 is unused; CAs accept 0-6, 8-10 at most (Let's Encrypt fewer).
    return util::fail(util::Errc::invalid_input, "--reason " + std::to_string(*options.reason) +
                                                     " is not a revocation reason code (0-6 or 8-10; 1 = keyCompromise)");
  }
  if (!options.key_file.empty()) {
    CERTPILOT_TRY(auto key, crypto::PrivateKey::load(options.key_file), "--key");
    if (!leaf.matches_key(key)) {
      return util::fail(util::Errc::invalid_input, "--key " + options.key_file + " is not the key of " + options.cert_file);
    }
    CERTPILOT_TRY(auto client, open_client(options.ca), "revoke");
    CERTPILOT_TRY_VOID(client->revoke_certificate(leaf.to_der(), options.reason, &key), "revoke");
  } else {
    CERTPILOT_TRY(auto store, open_store(options.state_dir), "revoke");
    CERTPILOT_TRY(auto session, open_ca_session(options.ca, store, AccountMode::existing_only), "revoke");
    CERTPILOT_TRY_VOID(session.client->revoke_certificate(leaf.to_der(), options.reason), "revoke");
  }
  kLog.info("certificate revoked", {{"serial", leaf.serial_hex()}});
  return leaf.serial_hex();
}

}  // namespace certpilot::agent
