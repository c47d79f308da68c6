#pragma once
// TSIG (RFC 8945): signing requests and verifying the server's signed answer.
// Pure functions of their inputs (the time is a parameter); thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/wire/message.hpp"
#include "util/secret.hpp"

namespace certpilot::dns::wire {

// hmac-md5 is only for old servers; RFC 8945 §6 marks it deprecated, hmac-sha256 is mandatory.
enum class TsigAlgorithm { hmac_md5, hmac_sha1, hmac_sha256, hmac_sha512 };

// Accepts "hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5" and "hmac-md5.sig-alg.reg.int",
// case-insensitive, with or without a trailing dot; the error lists the accepted names.
Result<TsigAlgorithm> parse_tsig_algorithm(std::string_view name);
// The algorithm's domain name as it goes on the wire (RFC 8945 §6): "hmac-sha256", "hmac-md5.sig-alg.reg.int".
std::string tsig_algorithm_name(TsigAlgorithm alg);

struct TsigKey {
  std::string name;  // the key's name as both sides know it, e.g. "certpilot-key"
  TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
  util::SecretString secret;  // raw key bytes (decoded)
};

// Builds a key from a BIND-style base64 secret. The error never contains the secret.
Result<TsigKey> make_tsig_key(std::string name, std::string_view algorithm, const util::SecretString& secret_base64);

struct SignedMessage {
  std::string wire;  // the message with the TSIG record appended and ARCOUNT incremented
  std::string mac;   // our MAC, which the response's MAC covers (RFC 8945 §5.3)
};

// RFC 8945 §4.3.3/§5.1: the MAC covers the whole unsigned message plus the TSIG variables.
Result<SignedMessage> tsig_sign(std::string_view message_wire, const TsigKey& key, std::uint64_t now_unix,
                                std::uint16_t fudge = 300);

// The TSIG record of a decoded message, when its last additional record is one.
struct TsigRecord {
  std::string key_name;
  std::string algorithm;
  std::uint64_t time_signed = 0;
  std::uint16_t fudge = 0;
  std::string mac;
  std::uint16_t original_id = 0;
  std::uint16_t error = 0;
  std::string other;
};
Result<TsigRecord> parse_tsig_rdata(std::string_view rdata);
std::optional<TsigRecord> find_tsig(const Message& message);

// Checks the server's answer to a request we signed with request_mac (RFC 8945 §5.3): same key and
// algorithm, MAC over request MAC + answer without its TSIG (original id, ARCOUNT - 1) + TSIG
// variables, and the time within fudge (§5.2.3). An unsigned answer is an error.
Result<void> tsig_verify_response(std::string_view response_wire, const TsigKey& key, std::string_view request_mac,
                                  std::uint64_t now_unix);

}  // namespace certpilot::dns::wire
