#include "agent/ca_session.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/client.hpp"
#include "util/base64url.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
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

util::Error deactivated_error(const store::StoredAccount& stored, const store::Store& store) {
  return util::Error(util::Errc::unauthorized,
                     "the account " + stored.record.url + " stored in " + stored.dir.string() +
                         " is deactivated ('certpilot account deactivate'), and the CA refuses it for good; " +
                         replace_account_hint(stored.dir, store));
}

// RFC 8555 §7.1.1 and the profiles extension (draft-aaron-acme-profiles): the directory's
// meta.profiles lists the names a newOrder may carry. A name outside a non-empty list is a typo the
// CA would refuse (invalidProfile) after the account and order work: refused here, listing the
// names. A CA that lists none is still sent the name, as before, and one without the extension
// (Pebble 2.4) ignores it and issues its default certificate. That is only a warning, because the
// same path renews from the config: a CA that stops advertising profiles must not stop every
// renewal until the certificates expire.
util::Result<void> check_profile(const CaSettings& ca, const acme::Directory& directory) {
  if (!ca.profile) return util::ok();
  if (directory.profiles.empty()) {
    kLog.warn("the CA advertises no certificate profiles: the profile asked for is ignored and the CA issues its "
              "default certificate",
              {{"profile", *ca.profile}, {"ca", ca.directory_url}});
    return util::ok();
  }
  if (directory.profiles.count(*ca.profile) != 0) return util::ok();
  std::vector<std::string> names;
  for (const auto& [name, description] : directory.profiles) names.push_back(name);
  return util::fail(util::Errc::invalid_input,
                    "certificate profile \"" + *ca.profile + "\" is not one the CA " + ca.directory_url +
                        " offers (" + util::join(names, ", ") + "); use one of those (--profile, or profile in [ca])");
}

}  // namespace

util::Result<void> check_ca_bundle(const std::string& path) { return http::check_ca_bundle(path); }

// "Move that folder out of accounts/" works with every version of the store (find_account looks
// only there) and keeps the old key for later audits.
std::string replace_account_hint(const std::filesystem::path& account_dir, const store::Store& store) {
  const auto aside = store.root() / ("deactivated-account-" + account_dir.filename().string());
  return "to register a new account, move that folder out of the way (mv " + account_dir.string() + " " +
         aside.string() + ") and run again";
}

util::Result<void> check_contact_emails(const std::vector<std::string>& emails) {
  for (const auto& e : emails) {
    if (util::to_lower(e.substr(0, 7)) == "mailto:") {
      return util::fail(util::Errc::invalid_input, "--email " + e + ": write a plain address, without mailto: (--email " +
                                                       e.substr(7) + ")");
    }
  }
  return util::ok();
}

util::Result<util::SecretString> read_eab_key(const std::string& path) {
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    return util::fail(util::Errc::io, "the EAB MAC key file " + path + " is a folder; give the file that holds the key");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::fail(util::Errc::io, "cannot read the EAB MAC key file " + util::secret_file_label(path));
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

namespace {

// --email given for an account that exists: the operator wants the CA to write to that address
// now (expiry and policy mail), so the account's contact follows it (RFC 8555 §7.3.2). Issuing does
// not depend on it: a CA that refuses the change gets a warning, and the old contact stays.
void update_contact_if_changed(CaSession& session, const CaSettings& ca, const store::Store& store) {
  if (ca.emails.empty()) return;
  std::vector<std::string> wanted;
  for (const auto& e : ca.emails) wanted.push_back("mailto:" + e);
  auto have = session.account.contact;
  std::sort(wanted.begin(), wanted.end());
  std::sort(have.begin(), have.end());
  if (wanted == have) return;
  auto updated = session.client->update_contact(wanted);
  if (!updated) {
    kLog.warn("the account's contact was not changed; it stays as it was",
              {{"contact", util::join(session.account.contact, ",")}, {"error", updated.error().message}});
    return;
  }
  session.account.contact = updated->contact;
  // The client's key, not the one loaded from the store: a rollover finished just before may have changed it.
  const auto& key = session.client->account_key();
  if (!key) return;
  if (auto saved = store.save_account(session.account, *key); !saved) {
    kLog.warn("the CA has the new contact, but saving it locally failed", {{"error", saved.error().message}});
    return;
  }
  kLog.info("account contact updated", {{"account", session.account.url}, {"contact", util::join(updated->contact, ",")}});
}

}  // namespace

util::Result<CaSession> open_ca_session(const CaSettings& ca, const store::Store& store, AccountMode mode) {
  if (auto r = check_contact_emails(ca.emails); !r) return util::fail(r.error());
  const auto no_account = [&] {
    return util::fail(util::Errc::invalid_input, "no account for " + ca.directory_url + " in " + store.root().string() +
                                                     "; run 'certpilot issue' first or pass the right --state");
  };
  if (mode != AccountMode::find_or_create) {
    // Nothing to ask the CA about without an account: say so before connecting.
    CERTPILOT_TRY(const auto stored, store.find_account(ca.directory_url), "account store");
    if (!stored) return no_account();
  }
  CaSession session;
  CERTPILOT_TRY(session.client, open_client(ca), "CA " + ca.directory_url);
  auto& client = *session.client;
  if (auto r = check_profile(ca, client.directory()); !r) return util::fail(r.error());
  // Renewal jobs (threads or processes) start together on a fresh store: one registers, the others
  // wait and find its account.
  CERTPILOT_TRY(const auto accounts_lock, store.lock_accounts(), "account store");
  CERTPILOT_TRY(auto stored, store.find_account(ca.directory_url), "account store");
  if (stored) {
    std::error_code ec;
    if (std::filesystem::exists(stored->dir / kDeactivatedMarker, ec)) {
      return util::fail(deactivated_error(*stored, store));
    }
    client.set_account(stored->key, stored->record.url);
    session.account = stored->record;
    session.account_dir = stored->dir;
    CERTPILOT_TRY_VOID(finish_pending_rollover(session, store), "account key rollover left unfinished");
    if (mode == AccountMode::find_or_create) update_contact_if_changed(session, ca, store);
    return session;
  }
  if (mode != AccountMode::find_or_create) return no_account();
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

util::Error explain_deactivated_account(util::Error error, const CaSettings& ca, const std::string& state_dir) {
  // Pebble: "Account has been deactivated"; Boulder: "Account is not valid, has status \"deactivated\"".
  if (error.acme_type != "urn:ietf:params:acme:error:unauthorized" ||
      util::to_lower(error.message).find("deactivated") == std::string::npos) {
    return error;
  }
  store::StoreOptions options;
  options.root = state_dir;
  auto store = store::Store::open(options);
  if (!store) return error;
  auto stored = store->find_account(ca.directory_url);
  if (!stored || !*stored) return error;
  error.message += "; the account stored in " + (*stored)->dir.string() + " is deactivated; " +
                   replace_account_hint((*stored)->dir, *store);
  return error;
}

}  // namespace certpilot::agent
