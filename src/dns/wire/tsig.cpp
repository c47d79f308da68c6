#include "dns/wire/tsig.hpp"

#include "crypto/key.hpp"
#include "dns/wire/reader.hpp"
#include "util/base64url.hpp"
#include "util/strings.hpp"

namespace certpilot::dns::wire {

using util::Errc;
using util::fail;

namespace {

void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void put48(std::string& out, std::uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

crypto::HmacAlg hmac_alg(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::hmac_md5: return crypto::HmacAlg::md5;
    case TsigAlgorithm::hmac_sha1: return crypto::HmacAlg::sha1;
    case TsigAlgorithm::hmac_sha256: return crypto::HmacAlg::sha256;
    case TsigAlgorithm::hmac_sha512: return crypto::HmacAlg::sha512;
  }
  return crypto::HmacAlg::sha256;
}

// RFC 8945 §4.3.3: key name, class ANY, TTL 0, algorithm name (canonical wire forms), time signed,
// fudge, error, other len, other data.
Result<std::string> tsig_variables(const std::string& key_name, const std::string& algorithm, std::uint64_t time_signed,
                                   std::uint16_t fudge, std::uint16_t error, std::string_view other) {
  CERTPILOT_TRY(auto kname, encode_name(canonical_name(key_name)), "TSIG key name");
  CERTPILOT_TRY(auto aname, encode_name(canonical_name(algorithm)), "TSIG algorithm");
  std::string v = kname;
  put16(v, klass::kAny);
  v.append(4, '\0');  // TTL
  v += aname;
  put48(v, time_signed);
  put16(v, fudge);
  put16(v, error);
  put16(v, static_cast<std::uint16_t>(other.size()));
  v += other;
  return v;
}

std::size_t digest_size(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::hmac_md5: return 16;
    case TsigAlgorithm::hmac_sha1: return 20;
    case TsigAlgorithm::hmac_sha256: return 32;
    case TsigAlgorithm::hmac_sha512: return 64;
  }
  return 32;
}

// A MAC comparison must not leak how many leading bytes matched.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace

Result<TsigAlgorithm> parse_tsig_algorithm(std::string_view name) {
  const std::string n = canonical_name(name);
  if (n == "hmac-sha256") return TsigAlgorithm::hmac_sha256;
  if (n == "hmac-sha512") return TsigAlgorithm::hmac_sha512;
  if (n == "hmac-sha1") return TsigAlgorithm::hmac_sha1;
  if (n == "hmac-md5" || n == "hmac-md5.sig-alg.reg.int") return TsigAlgorithm::hmac_md5;
  return fail(Errc::invalid_input, "TSIG algorithm \"" + util::printable_excerpt(name, 64) +
                                       "\" is not one of hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5");
}

std::string tsig_algorithm_name(TsigAlgorithm alg) {
  switch (alg) {
    case TsigAlgorithm::hmac_md5: return "hmac-md5.sig-alg.reg.int";
    case TsigAlgorithm::hmac_sha1: return "hmac-sha1";
    case TsigAlgorithm::hmac_sha256: return "hmac-sha256";
    case TsigAlgorithm::hmac_sha512: return "hmac-sha512";
  }
  return "hmac-sha256";
}

Result<TsigKey> make_tsig_key(std::string name, std::string_view algorithm, const util::SecretString& secret_base64) {
  if (name.empty()) return fail(Errc::invalid_input, "TSIG key name is empty");
  if (auto n = encode_name(name); !n) return fail(n.error().wrapped("TSIG key name"));
  CERTPILOT_TRY(auto alg, parse_tsig_algorithm(algorithm), "TSIG key " + name);
  auto raw = util::base64_decode(util::trim(secret_base64.reveal()));
  if (!raw || raw->empty()) {
    return fail(Errc::invalid_input, "TSIG key " + name + ": the secret is not base64 (as tsig-keygen writes it)");
  }
  return TsigKey{std::move(name), alg, util::SecretString(std::move(*raw))};
}

Result<SignedMessage> tsig_sign(std::string_view message_wire, const TsigKey& key, std::uint64_t now_unix,
                                std::uint16_t fudge) {
  if (message_wire.size() < 12) return fail(Errc::invalid_input, "TSIG sign: message shorter than a header");
  const std::string alg = tsig_algorithm_name(key.algorithm);
  CERTPILOT_TRY(auto vars, tsig_variables(key.name, alg, now_unix, fudge, 0, {}), "TSIG sign");
  std::string digest_input(message_wire);
  digest_input += vars;
  CERTPILOT_TRY(auto mac, crypto::hmac(hmac_alg(key.algorithm), key.secret.reveal(), digest_input), "TSIG sign");

  const auto original_id = static_cast<std::uint16_t>((static_cast<unsigned char>(message_wire[0]) << 8) |
                                                      static_cast<unsigned char>(message_wire[1]));
  CERTPILOT_TRY(auto aname, encode_name(alg), "TSIG sign");
  std::string rdata = aname;
  put48(rdata, now_unix);
  put16(rdata, fudge);
  put16(rdata, static_cast<std::uint16_t>(mac.size()));
  rdata += mac;
  put16(rdata, original_id);
  put16(rdata, 0);  // error
  put16(rdata, 0);  // other len
  CERTPILOT_TRY(auto kname, encode_name(key.name), "TSIG sign");

  SignedMessage out;
  out.wire = std::string(message_wire);
  out.wire += kname;
  put16(out.wire, type::kTsig);
  put16(out.wire, klass::kAny);
  out.wire.append(4, '\0');
  put16(out.wire, static_cast<std::uint16_t>(rdata.size()));
  out.wire += rdata;
  // ARCOUNT + 1
  const auto arcount = static_cast<std::uint16_t>(((static_cast<unsigned char>(out.wire[10]) << 8) |
                                                   static_cast<unsigned char>(out.wire[11])) + 1);
  out.wire[10] = static_cast<char>(arcount >> 8);
  out.wire[11] = static_cast<char>(arcount & 0xff);
  out.mac = std::move(mac);
  return out;
}

Result<TsigRecord> parse_tsig_rdata(std::string_view rdata) {
  Reader r(rdata);
  TsigRecord t;
  CERTPILOT_TRY(t.algorithm, r.name(), "TSIG rdata");
  CERTPILOT_TRY(auto hi, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(auto lo, r.u32(), "TSIG rdata");
  t.time_signed = (static_cast<std::uint64_t>(hi) << 32) | lo;
  CERTPILOT_TRY(t.fudge, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(auto mac_len, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(t.mac, r.bytes(mac_len), "TSIG rdata");
  CERTPILOT_TRY(t.original_id, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(t.error, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(auto other_len, r.u16(), "TSIG rdata");
  CERTPILOT_TRY(t.other, r.bytes(other_len), "TSIG rdata");
  if (r.pos() != rdata.size()) return fail(Errc::dns, "TSIG rdata: trailing bytes");
  return t;
}

std::optional<TsigRecord> find_tsig(const Message& message) {
  if (message.additional.empty() || message.additional.back().type != type::kTsig) return std::nullopt;
  auto t = parse_tsig_rdata(message.additional.back().rdata);
  if (!t) return std::nullopt;
  t->key_name = message.additional.back().name;
  return *t;
}

Result<void> tsig_verify_response(std::string_view response_wire, const TsigKey& key, std::string_view request_mac,
                                  std::uint64_t now_unix) {
  CERTPILOT_TRY(auto msg, decode(response_wire), "TSIG verify");
  if (msg.additional.empty() || msg.additional.back().type != type::kTsig) {
    return fail(Errc::dns, "TSIG verify: the answer is not signed");
  }
  const ResourceRecord& rr = msg.additional.back();
  CERTPILOT_TRY(auto t, parse_tsig_rdata(rr.rdata), "TSIG verify");
  if (!same_name(rr.name, key.name)) return fail(Errc::dns, "TSIG verify: signed with key " + rr.name + ", not " + key.name);
  if (!same_name(t.algorithm, tsig_algorithm_name(key.algorithm))) {
    return fail(Errc::dns, "TSIG verify: signed with algorithm " + t.algorithm);
  }
  if (t.error != 0) return fail(Errc::dns, "TSIG verify: the server reports TSIG error " + rcode_name(t.error));
  // RFC 8945 §5.2.2.1: a MAC may be truncated, but not below 10 bytes or half the digest.
  const std::size_t full = digest_size(key.algorithm);
  if (t.mac.size() > full || t.mac.size() < std::max<std::size_t>(10, full / 2)) {
    return fail(Errc::dns, "TSIG verify: MAC of " + std::to_string(t.mac.size()) + " bytes");
  }

  // The answer as it was before signing: without the TSIG record, ARCOUNT - 1, the original id.
  std::string unsigned_part(response_wire.substr(0, rr.offset));
  unsigned_part[0] = static_cast<char>(t.original_id >> 8);
  unsigned_part[1] = static_cast<char>(t.original_id & 0xff);
  const auto arcount = static_cast<std::uint16_t>(msg.additional.size() - 1);
  unsigned_part[10] = static_cast<char>(arcount >> 8);
  unsigned_part[11] = static_cast<char>(arcount & 0xff);

  std::string digest_input;
  put16(digest_input, static_cast<std::uint16_t>(request_mac.size()));
  digest_input += request_mac;
  digest_input += unsigned_part;
  CERTPILOT_TRY(auto vars, tsig_variables(rr.name, t.algorithm, t.time_signed, t.fudge, t.error, t.other), "TSIG verify");
  digest_input += vars;
  CERTPILOT_TRY(auto mac, crypto::hmac(hmac_alg(key.algorithm), key.secret.reveal(), digest_input), "TSIG verify");
  if (!constant_time_equal(std::string_view(mac).substr(0, t.mac.size()), t.mac)) {
    return fail(Errc::dns, "TSIG verify: the answer's MAC does not match (BADSIG)");
  }
  // RFC 8945 §5.2.3: time signed must be within fudge of our clock.
  const std::uint64_t diff = now_unix > t.time_signed ? now_unix - t.time_signed : t.time_signed - now_unix;
  if (diff > t.fudge) return fail(Errc::dns, "TSIG verify: time signed is " + std::to_string(diff) + "s off (BADTIME)");
  return util::ok();
}

}  // namespace certpilot::dns::wire
