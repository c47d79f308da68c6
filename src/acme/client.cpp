// Transport (nonces, signed POSTs, problem documents) and account operations (RFC 8555 §6, §7.3).
#include "acme/client.hpp"

#include "crypto/jws.hpp"
#include "util/base64url.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::acme {

using nlohmann::json;

namespace {

const util::Logger kLog("acme");
constexpr const char* kJoseJson = "application/jose+json";

}  // namespace

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (options.directory_url.rfind("https://", 0) != 0 && options.directory_url.rfind("http://", 0) != 0) {
    return util::fail(util::Errc::invalid_input, "directory URL '" + options.directory_url +
                                                     "' is not an http(s) URL; pass --directory https://ca.example/directory");
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  CERTPILOT_TRY(client->http_, http::HttpClient::create(client->options_.http), "acme");
  CERTPILOT_TRY(auto resp, client->http_->get(client->options_.directory_url),
                "fetching the ACME directory");
  if (resp.status != 200) {
    return util::fail(util::Errc::network, "fetching the ACME directory " + client->options_.directory_url +
                                               ": HTTP " + std::to_string(resp.status) + "; check --directory");
  }
  CERTPILOT_TRY(client->directory_, parse_directory(client->options_.directory_url, resp.body), "acme");
  return client;
}

void Client::set_account(const crypto::PrivateKey& key, std::string account_url) {
  account_key_ = key;
  account_url_ = std::move(account_url);
}

void Client::keep_nonce(const http::Response& resp) {
  if (auto n = resp.header("replay-nonce"); n && !n->empty()) {
    nonces_.push_back(*n);
    // A pool larger than a few is never needed; an old nonce is likely expired anyway.
    if (nonces_.size() > 8) nonces_.erase(nonces_.begin());
  }
}

Result<std::string> Client::take_nonce() {
  if (!nonces_.empty()) {
    std::string n = std::move(nonces_.back());
    nonces_.pop_back();
    return n;
  }
  // RFC 8555 §7.2: HEAD newNonce.
  CERTPILOT_TRY(auto resp, http_->send({"HEAD", directory_.new_nonce, {}, {}}), "getting a nonce");
  auto n = resp.header("replay-nonce");
  if (!n || n->empty()) {
    return util::fail(util::Errc::acme_problem, "getting a nonce: " + directory_.new_nonce +
                                                    " answered HTTP " + std::to_string(resp.status) + " without Replay-Nonce");
  }
  return *n;
}

Result<http::Response> Client::post(const std::string& url, const std::string& payload, bool embed_jwk,
                                    const crypto::PrivateKey* signer, std::vector<http::Header> extra_headers) {
  const crypto::PrivateKey* key = signer ? signer : (account_key_ ? &*account_key_ : nullptr);
  if (key == nullptr) return util::fail(util::Errc::internal, "POST " + url + ": no account key set");
  if (!embed_jwk && account_url_.empty()) return util::fail(util::Errc::internal, "POST " + url + ": no account URL set");
  const std::optional<std::string> kid = embed_jwk ? std::nullopt : std::optional<std::string>(account_url_);
  for (int attempt = 1;; ++attempt) {
    CERTPILOT_TRY(auto nonce, take_nonce(), "POST " + url);
    CERTPILOT_TRY(auto body, crypto::acme_jws(*key, url, nonce, kid, payload), "POST " + url);
    CERTPILOT_TRY(auto resp, http_->post(url, body.dump(), kJoseJson, extra_headers), "acme");
    keep_nonce(resp);
    if (resp.status < 400) return resp;
    const auto retry_after = resp.retry_after(options_.clock->now());
    util::Error err = http_status_error(resp.status, resp.body);
    if (auto problem = parse_problem(resp.body)) err = problem_error(*problem, retry_after);
    // RFC 8555 §6.5: "the client SHOULD retry the request using the new nonce" from this response.
    if (err.code == util::Errc::bad_nonce && attempt <= options_.max_bad_nonce_retries) {
      kLog.debug("badNonce, retrying with the nonce from the error", {{"url", url}, {"attempt", attempt}});
      continue;
    }
    return util::fail(std::move(err).wrapped("POST " + url));
  }
}

Result<json> Client::post_json(const std::string& url, const std::string& payload, http::Response* raw) {
  CERTPILOT_TRY(auto resp, post(url, payload), "acme");
  json doc = json::parse(resp.body, nullptr, false);
  if (doc.is_discarded()) {
    return util::fail(util::Errc::acme_problem, "POST " + url + ": the CA answered with invalid JSON: " +
                                                    util::printable_excerpt(resp.body, 100));
  }
  if (raw) *raw = std::move(resp);
  return doc;
}

Result<Account> Client::account_request(const crypto::PrivateKey& key, const json& payload) {
  CERTPILOT_TRY(auto resp, post(directory_.new_account, payload.dump(), /*embed_jwk=*/true, &key), "acme");
  const auto location = resp.header("location");
  if (!location) {
    return util::fail(util::Errc::acme_problem, "newAccount: the CA sent no Location header for the account");
  }
  json doc = json::parse(resp.body, nullptr, false);
  if (doc.is_discarded()) doc = json::object();  // some CAs send an empty body for an existing account
  CERTPILOT_TRY(auto account, parse_account(*location, doc), "newAccount");
  set_account(key, *location);
  return account;
}

Result<Account> Client::register_account(const crypto::PrivateKey& key, const NewAccountOptions& options) {
  if (directory_.terms_of_service && !options.terms_of_service_agreed) {
    return util::fail(util::Errc::invalid_input, "the CA requires agreeing to its terms of service (" +
                                                     *directory_.terms_of_service + "); read them and pass --agree-tos");
  }
  if (directory_.external_account_required && !options.eab) {
    return util::fail(util::Errc::invalid_input,
                      "the CA requires External Account Binding; pass --eab-kid KID and --eab-hmac-key-file FILE "
                      "with the values your CA gave you");
  }
  json payload = json::object();
  if (!options.contact.empty()) payload["contact"] = options.contact;
  if (options.terms_of_service_agreed) payload["termsOfServiceAgreed"] = true;
  if (options.eab) {
    CERTPILOT_TRY(payload["externalAccountBinding"],
                  crypto::eab_jws(options.eab->alg, options.eab->kid, options.eab->mac_key.reveal(), key.public_jwk(),
                                  directory_.new_account),
                  "external account binding");
  }
  CERTPILOT_TRY(auto account, account_request(key, payload), "registering the account");
  kLog.info("account ready", {{"account", account.url}, {"status", account.status}});
  return account;
}

Result<Account> Client::find_account(const crypto::PrivateKey& key) {
  json payload = {{"onlyReturnExisting", true}};
  auto account = account_request(key, payload);
  if (!account) return util::fail(account.error().wrapped("looking up the account for this key"));
  return account;
}

Result<Account> Client::fetch_account() {
  // POST-as-GET (§6.3); Pebble refuses the older "{}" empty update.
  CERTPILOT_TRY(auto doc, post_json(account_url_, ""), "fetching the account");
  return parse_account(account_url_, doc);
}

Result<Account> Client::update_contact(const std::vector<std::string>& contact) {
  json payload = {{"contact", contact}};
  CERTPILOT_TRY(auto doc, post_json(account_url_, payload.dump()), "updating the account's contact");
  return parse_account(account_url_, doc);
}

Result<Account> Client::deactivate_account() {
  json payload = {{"status", "deactivated"}};
  CERTPILOT_TRY(auto doc, post_json(account_url_, payload.dump()), "deactivating the account");
  return parse_account(account_url_, doc);
}

Result<void> Client::rollover_key(const crypto::PrivateKey& new_key) {
  if (!account_key_) return util::fail(util::Errc::internal, "key rollover: no account key set");
  // RFC 8555 §7.3.5: the inner JWS is signed by the new key, embeds its JWK, has no nonce, and
  // names the account and the old key; the outer JWS is an ordinary request signed by the old key.
  json inner_header = {{"alg", new_key.jws_alg()}, {"jwk", new_key.public_jwk()}, {"url", directory_.key_change}};
  json inner_payload = {{"account", account_url_}, {"oldKey", account_key_->public_jwk()}};
  CERTPILOT_TRY(auto inner, crypto::jws_sign(new_key, inner_header, inner_payload.dump()), "key rollover");
  CERTPILOT_TRY(auto resp, post(directory_.key_change, inner.dump()), "key rollover");
  (void)resp;
  account_key_ = new_key;
  kLog.info("account key rolled over", {{"account", account_url_}});
  return util::ok();
}

std::chrono::milliseconds Client::poll_delay(const http::Response& resp, int attempt, util::SysTime deadline) const {
  using namespace std::chrono;
  // Honour Retry-After (RFC 8555 §7.5.1 / §7.4); without it, start fast and back off: a CA that
  // validates in milliseconds (Pebble, a warm Boulder) should not cost seconds per order.
  milliseconds delay = milliseconds(std::min(3000, 50 << std::min(attempt, 6)));
  if (auto ra = resp.retry_after(options_.clock->now())) delay = std::max(duration_cast<milliseconds>(*ra), milliseconds(50));
  const auto left = duration_cast<milliseconds>(deadline - options_.clock->now());
  return std::max(milliseconds(0), std::min(delay, left));
}

}  // namespace certpilot::acme
