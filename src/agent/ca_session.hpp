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

// Reads the EAB MAC key file (base64url, as CAs print it). The error names the file, never the key.
util::Result<util::SecretString> read_eab_key(const std::string& path);

util::Result<CaSession> open_ca_session(const CaSettings& ca, const store::Store& store, AccountMode mode);

// The client alone (directory fetched), for account-less operations.
util::Result<std::unique_ptr<acme::Client>> open_client(const CaSettings& ca);

}  // namespace certpilot::agent
