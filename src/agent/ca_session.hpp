#pragma once
// An ACME client with its account ready: the stored account for this CA, or a new one registered
// and saved (accounts/<ca-host>/<id>/ in the state folder, key 0600).
#include <filesystem>
#include <memory>

#include "acme/client.hpp"
#include "agent/settings.hpp"
#include "store/store.hpp"

namespace certpilot::agent {

enum class AccountMode {
  find_or_create,  // issue / renew
  existing_only,   // account show / rollover / deactivate, revoke
};

struct CaSession {
  std::unique_ptr<acme::Client> client;
  store::AccountRecord account;
  std::filesystem::path account_dir;  // empty for an account registered in this session
};

// A key rollover writes the new key here before asking the CA, so a crash between the CA's answer
// and saving cannot lose the account; open_ca_session() finishes or discards it.
inline constexpr const char* kPendingRolloverKey = "key.rollover.pem";

// Written into an account's folder once the CA has deactivated it. RFC 8555 §7.3.6: the server
// MUST NOT accept further requests authorized by that account's key, so open_ca_session() refuses
// the account from then on, naming the folder and how to get a new account, instead of sending
// requests the CA can only answer with "unauthorized".
inline constexpr const char* kDeactivatedMarker = "deactivated";

// A --ca-bundle file checked before any connection (http::check_ca_bundle): Errc::invalid_input when
// it holds no PEM certificate, Errc::io when it cannot be read.
util::Result<void> check_ca_bundle(const std::string& path);

// Account contacts as the user writes them: plain addresses. "mailto:a@b.example" would be sent
// as "mailto:mailto:a@b.example", which the CA refuses (invalidContact): Errc::invalid_input.
util::Result<void> check_contact_emails(const std::vector<std::string>& emails);

// "to register a new account, move that folder out of the way (mv <account_dir> <aside>) and run
// again": the advice for a deactivated account.
std::string replace_account_hint(const std::filesystem::path& account_dir, const store::Store& store);

// Reads the EAB MAC key file (base64url, as CAs print it). The error names the file, never the key.
util::Result<util::SecretString> read_eab_key(const std::string& path);

// Errors, besides the CA's and the store's:
//   - no stored account in existing_only mode: Errc::invalid_input, before connecting;
//   - a stored account marked deactivated (kDeactivatedMarker): Errc::unauthorized naming the
//     folder and how to get a new account (the CA would refuse even to show it);
//   - ca.profile not among the profiles the CA advertises: Errc::invalid_input listing them. A CA
//     that advertises none gets a warning only (see check_profile in the .cpp for why);
//   - an e-mail written as a "mailto:" URI: Errc::invalid_input (the client adds the scheme).
util::Result<CaSession> open_ca_session(const CaSettings& ca, const store::Store& store, AccountMode mode);

// The CA's answer to a request signed by an account it deactivated (by another client, or by the
// CA): `error` with the stored account's folder and how to get a new account appended. Any other
// error is returned unchanged. Reads the store under state_dir, never the network.
util::Error explain_deactivated_account(util::Error error, const CaSettings& ca, const std::string& state_dir);

// The client alone (directory fetched), for account-less operations.
util::Result<std::unique_ptr<acme::Client>> open_client(const CaSettings& ca);

}  // namespace certpilot::agent
