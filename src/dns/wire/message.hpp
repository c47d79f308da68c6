#pragma once
// A small DNS message encoder/decoder (RFC 1035 §4), written by hand rather than taken from
// c-ares: c-ares 1.18 builds only standard queries (no UPDATE messages, no TSIG), and its
// ares_parse_* helpers each cover one type, while the propagation, CAA and TSIG code want one
// uniform view of a response. Debian's ldns could do it too, but it is one more C library and its
// TSIG support is limited to MD5/SHA1/SHA256; this file plus tsig.cpp is a few hundred lines.
//
// Names are carried as dotted text without the trailing dot ("_acme-challenge.a.test"), the root
// as "". Decoding expands compressed names everywhere, including inside NS/CNAME/SOA/MX/PTR/TSIG
// rdata, so ResourceRecord::rdata is always self-contained and can be parsed on its own.
// Every function is pure and thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace certpilot::dns::wire {

using util::Result;

namespace type {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kNs = 2;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kPtr = 12;
inline constexpr std::uint16_t kMx = 15;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kOpt = 41;
inline constexpr std::uint16_t kTsig = 250;
inline constexpr std::uint16_t kAny = 255;
inline constexpr std::uint16_t kCaa = 257;
}  // namespace type

namespace klass {
inline constexpr std::uint16_t kIn = 1;
inline constexpr std::uint16_t kNone = 254;
inline constexpr std::uint16_t kAny = 255;
}  // namespace klass

namespace opcode {
inline constexpr std::uint8_t kQuery = 0;
inline constexpr std::uint8_t kUpdate = 5;
}  // namespace opcode

namespace rcode {
inline constexpr std::uint16_t kNoError = 0;
inline constexpr std::uint16_t kFormErr = 1;
inline constexpr std::uint16_t kServFail = 2;
inline constexpr std::uint16_t kNxDomain = 3;
inline constexpr std::uint16_t kNotImp = 4;
inline constexpr std::uint16_t kRefused = 5;
inline constexpr std::uint16_t kYxDomain = 6;
inline constexpr std::uint16_t kYxRrset = 7;
inline constexpr std::uint16_t kNxRrset = 8;
inline constexpr std::uint16_t kNotAuth = 9;
inline constexpr std::uint16_t kNotZone = 10;
inline constexpr std::uint16_t kBadSig = 16;  // TSIG error field only (RFC 8945 §4.3.3)
inline constexpr std::uint16_t kBadKey = 17;
inline constexpr std::uint16_t kBadTime = 18;
inline constexpr std::uint16_t kBadTrunc = 22;
}  // namespace rcode

std::string type_name(std::uint16_t t);    // "TXT", or "TYPE65" for others
std::string rcode_name(std::uint16_t rc);  // "NOERROR", "BADSIG", or "RCODE23"

struct Header {
  std::uint16_t id = 0;
  bool qr = false;
  std::uint8_t opcode = opcode::kQuery;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  std::uint8_t rcode = 0;  // the 4-bit header rcode (extended rcodes come from OPT/TSIG)
};

struct Question {
  std::string name;
  std::uint16_t type = type::kA;
  std::uint16_t klass = klass::kIn;
};

struct ResourceRecord {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = klass::kIn;
  std::uint32_t ttl = 0;
  std::string rdata;        // uncompressed wire rdata
  std::size_t offset = 0;   // where this record started in the decoded message (TSIG needs it)
};

// In an UPDATE (RFC 2136 §2), question = zone section, answer = prerequisites, authority = updates.
struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
};

// What a lookup got for the record it asked, in a word: its rcode ("NXDOMAIN", "SERVFAIL"...), or
// "no data" for a NOERROR answer (callers ask this only when the record was not in it).
std::string answer_outcome(const Message& m);

// Names are written uncompressed. Fails on a label over 63 bytes, a name over 255, an empty label
// in the middle ("a..b"), or rdata over 65535 bytes.
Result<std::string> encode(const Message& message);
// Rejects truncated input, bad compression pointers (forward or looping), labels and names over
// their limits, rdata that does not fit its length, and trailing bytes.
Result<Message> decode(std::string_view bytes);

// Name helpers (ASCII case-insensitive, no trailing dot).
Result<std::string> encode_name(std::string_view name);        // wire form, uncompressed
std::string canonical_name(std::string_view name);              // lowercase, trailing dot removed
bool same_name(std::string_view a, std::string_view b);
bool is_subdomain(std::string_view name, std::string_view zone);  // name == zone counts

// A standard query with a random id.
Message make_query(const std::string& name, std::uint16_t qtype, bool recursion_desired);

// --- rdata ---------------------------------------------------------------------------------------
struct Soa {
  std::string mname;
  std::string rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
struct Caa {
  std::uint8_t flags = 0;
  std::string tag;    // "issue", "issuewild", "iodef", ... as written (compare case-insensitively)
  std::string value;
  bool critical() const { return (flags & 0x80) != 0; }
};

// Each character-string of a TXT record, joined: one TXT record is one value (RFC 7208 §3.3 style).
Result<std::string> parse_txt(std::string_view rdata);
// TXT rdata for a value; values over 255 bytes are split into several character-strings.
std::string make_txt_rdata(std::string_view value);
Result<std::string> parse_name_rdata(std::string_view rdata);  // NS, CNAME, PTR
Result<Soa> parse_soa(std::string_view rdata);
Result<std::string> parse_a(std::string_view rdata);     // "192.0.2.1"
Result<std::string> parse_aaaa(std::string_view rdata);  // "2001:db8::1"
Result<Caa> parse_caa(std::string_view rdata);
std::string make_caa_rdata(const Caa& caa);

// One line for error messages: "a.test. 300 IN TXT \"value\"".
std::string describe(const ResourceRecord& rr);

}  // namespace certpilot::dns::wire
