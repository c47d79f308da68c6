#pragma once
// BIND key files as `tsig-keygen` writes them: one or more
//   key "name" { algorithm hmac-sha256; secret "base64"; };
// clauses. Pure functions; the secret never reaches an error message, key names do.
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace certpilot::dns {

struct BindKeyClause {
  std::string name;
  std::string algorithm;       // "" when the clause names none
  util::SecretString secret;   // base64; empty when the clause has no secret line
};

// Every key clause in file order; empty when no clause has a secret (then the text is taken as a
// bare base64 secret).
std::vector<BindKeyClause> parse_bind_keys(const std::string& text);
// The first clause of parse_bind_keys; nullopt when there is none.
std::optional<BindKeyClause> parse_bind_key(const std::string& text);

// The clause the operator meant: the one named key_name (case-insensitive, a trailing dot
// ignored), or with key_name empty the only one. `source` names where the text came from
// ("tsig-secret-file /etc/k.conf") for the errors, which list the key names found.
util::Result<BindKeyClause> select_bind_key(const std::vector<BindKeyClause>& keys, const std::string& key_name,
                                            const std::string& source);

}  // namespace certpilot::dns
