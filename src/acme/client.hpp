#pragma once
// RFC 8555 client: one CA, one account at a time. Not thread-safe: the daemon gives each order
// its own Client (they are cheap: one directory GET and a curl handle).
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/directory.hpp"
#include "acme/types.hpp"
#include "crypto/key.hpp"
#include "http/client.hpp"
#include "util/clock.hpp"
#include "util/secret.hpp"

namespace certpilot::acme {

using util::Result;

struct ClientOptions {
  std::string directory_url;
  http::HttpOptions http;
  const util::Clock* clock = &util::SystemClock::instance();
  // RFC 8555 §6.5: retry badNonce with the nonce from the error response.
  int max_bad_nonce_retries = 10;
};

struct ExternalAccountBinding {
  std::string kid;
  util::SecretString mac_key;  // raw bytes (decoded from base64url)
  std::string alg = "HS256";
};

struct NewAccountOptions {
  std::vector<std::string> contact;  // "mailto:ops@example.test"
  bool terms_of_service_agreed = false;
  std::optional<ExternalAccountBinding> eab;
};

struct NewOrderOptions {
  std::optional<std::string> replaces;  // RFC 9773 §5: ARI certificate id of the certificate replaced
  std::optional<std::string> profile;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(ClientOptions options);

  const Directory& directory() const { return directory_; }
  const util::Clock& clock() const { return *options_.clock; }

  // The account key and URL used to sign requests ("kid"). Orders need both.
  void set_account(const crypto::PrivateKey& key, std::string account_url);
  const std::string& account_url() const { return account_url_; }
  const std::optional<crypto::PrivateKey>& account_key() const { return account_key_; }

  // RFC 8555 §7.3: creates the account (or returns the existing one for this key) and sets it.
  Result<Account> register_account(const crypto::PrivateKey& key, const NewAccountOptions& options);
  // §7.3.1 onlyReturnExisting: the account for this key, or not_found.
  Result<Account> find_account(const crypto::PrivateKey& key);
  Result<Account> fetch_account();
  Result<Account> update_contact(const std::vector<std::string>& contact);
  Result<Account> deactivate_account();  // §7.3.6
  // §7.3.5: on success the client signs with new_key from then on.
  Result<void> rollover_key(const crypto::PrivateKey& new_key);

  Result<Order> new_order(const std::vector<std::string>& names, const NewOrderOptions& options);
  Result<Order> get_order(const std::string& url);
  Result<Authorization> get_authorization(const std::string& url);
  Result<void> respond_to_challenge(const Challenge& challenge);
  Result<void> deactivate_authorization(const std::string& url);
  // Polls until the authorization leaves "pending" or the deadline passes (timeout error).
  Result<Authorization> wait_authorization(const std::string& url, util::SysTime deadline);
  Result<Order> finalize_order(const Order& order, const std::string& csr_der);
  // Polls until the order is neither "pending" nor "processing" (or "ready" when until_ready).
  Result<Order> wait_order(const std::string& url, util::SysTime deadline);
  Result<CertificateDownload> download_certificate(const std::string& url);
  // §7.6: signed by the account, or by the certificate's own key when cert_key is given.
  Result<void> revoke_certificate(const std::string& cert_der, std::optional<int> reason,
                                  const crypto::PrivateKey* cert_key = nullptr);
  // RFC 9773: nullopt-like not_found error when the CA has no renewalInfo endpoint.
  Result<RenewalInfo> renewal_info(const std::string& cert_id);

 private:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  // A signed POST (§6.2); payload "" for POST-as-GET (§6.3). Retries badNonce. Errors carry the
  // CA's problem document. With embed_jwk the key's JWK goes in the header instead of the kid.
  Result<http::Response> post(const std::string& url, const std::string& payload, bool embed_jwk = false,
                              const crypto::PrivateKey* signer = nullptr,
                              std::vector<http::Header> extra_headers = {});
  Result<nlohmann::json> post_json(const std::string& url, const std::string& payload, http::Response* raw = nullptr);
  Result<std::string> take_nonce();
  void keep_nonce(const http::Response& resp);
  Result<Account> account_request(const crypto::PrivateKey& key, const nlohmann::json& payload);
  std::chrono::milliseconds poll_delay(const http::Response& resp, int attempt, util::SysTime deadline) const;

  ClientOptions options_;
  std::unique_ptr<http::HttpClient> http_;
  Directory directory_;
  std::optional<crypto::PrivateKey> account_key_;
  std::string account_url_;
  std::vector<std::string> nonces_;
};

}  // namespace certpilot::acme
