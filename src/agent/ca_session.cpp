#include "agent/ca_session.hpp"

#include <fstream>
#include <sstream>

#include "util/base64url.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

// A rollover interrupted after writing the new key: if the CA already knows the account by the
// new key, save it as the account's key; otherwise the rollover never happened and the file goes.
util::Result<void> finish_pending_rollover(CaSession& session, const store::Store& store) {
  const auto path = session.account_dir / kPendingRolloverKey;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return util::ok();
  CERTPILOT_TRY(auto next, crypto::PrivateKey::load(path.string()), "pending rollover key");
  const auto old_key = *session.client->account_key();
  const auto old_url = session.client->account_url();
  auto found = session.client->find_account(next);
  if (found && found->url == old_url) {
    CERTPILOT_TRY(session.account, store.save_account(session.account, next), "saving the rolled-over key");
    kLog.info("finished an interrupted account key rollover", {{"account", old_url}});
    return util::ok();
  }
  session.client->set_account(old_key, old_url);
  std::filesystem::remove(path, ec);
  kLog.info("discarded the key of a rollover the CA never saw", {{"account", old_url}});
  return util::ok();
}

}  // namespace

util::Result<util::SecretString> read_eab_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::fail(util::Errc::io, "cannot read the EAB MAC key file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text(util::trim(ss.str()));
  auto raw = util::base64url_decode(text);
  if (!raw) raw = util::base64_decode(text);  // some CAs hand out standard base64
  if (!raw || raw->empty()) {
    return util::fail(util::Errc::invalid_input,
                      "the EAB MAC key file " + path + " does not hold a base64url key (as your CA printed it)");
  }
  return util::SecretString(std::move(*raw));
}

util::Result<std::unique_ptr<acme::Client>> open_client(const CaSettings& ca) {
  acme::ClientOptions options;
  options.directory_url = ca.directory_url;
  options.http.ca_bundle = ca.ca_bundle;
  return acme::Client::create(std::move(options));
}

util::Result<CaSession> open_ca_session(const CaSettings& ca, const store::Store& store, AccountMode mode) {
  CaSession session;
  CERTPILOT_TRY(session.client, open_client(ca), "CA " + ca.directory_url);
  auto& client = *session.client;
  // Renewal jobs (threads or processes) start together on a fresh store: one registers, the others
  // wait and find its account.
  CERTPILOT_TRY(const auto accounts_lock, store.lock_accounts(), "account store");
  CERTPILOT_TRY(auto stored, store.find_account(ca.directory_url), "account store");
  if (stored) {
    client.set_account(stored->key, stored->record.url);
    session.account = stored->record;
    session.account_dir = stored->dir;
    CERTPILOT_TRY_VOID(finish_pending_rollover(session, store), "account key rollover left unfinished");
    return session;
  }
  if (mode == AccountMode::existing_only) {
    return util::fail(util::Errc::not_found, "no account for " + ca.directory_url + " in " + store.root().string() +
                                                 "; run 'certpilot issue' first or pass the right --state");
  }
  acme::NewAccountOptions options;
  for (const auto& e : ca.emails) options.contact.push_back("mailto:" + e);
  options.terms_of_service_agreed = ca.agree_tos;
  if (ca.eab) {
    CERTPILOT_TRY(auto mac, read_eab_key(ca.eab->hmac_key_file), "external account binding");
    options.eab = acme::ExternalAccountBinding{ca.eab->kid, std::move(mac), ca.eab->alg};
  }
  CERTPILOT_TRY(auto key, crypto::PrivateKey::generate(crypto::KeyType::ec_p256), "account key");
  CERTPILOT_TRY(auto account, client.register_account(key, options), "CA " + ca.directory_url);
  store::AccountRecord record;
  record.url = account.url;
  record.directory_url = ca.directory_url;
  record.contact = account.contact;
  record.created = client.clock().now();
  CERTPILOT_TRY(session.account, store.save_account(record, key), "saving the new account");
  kLog.info("account registered", {{"account", account.url}, {"ca", ca.directory_url}});
  return session;
}

}  // namespace certpilot::agent
