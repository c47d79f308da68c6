#include "dns/wire/message.hpp"

#include <arpa/inet.h>

#include <random>

#include "dns/wire/reader.hpp"

namespace certpilot::dns::wire {

using util::Errc;
using util::fail;

namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxLabel = 63;

void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

Result<void> put_rr(std::string& out, const ResourceRecord& rr) {
  CERTPILOT_TRY(auto name, encode_name(rr.name), "record " + rr.name);
  if (rr.rdata.size() > 0xffff) return fail(Errc::invalid_input, "record " + rr.name + ": rdata over 65535 bytes");
  out += name;
  put16(out, rr.type);
  put16(out, rr.klass);
  put32(out, rr.ttl);
  put16(out, static_cast<std::uint16_t>(rr.rdata.size()));
  out += rr.rdata;
  return util::ok();
}

// Copies rdata, expanding the names in the types whose rdata holds (possibly compressed) names.
Result<std::string> read_rdata(Reader& r, std::uint16_t rtype, std::size_t len) {
  const std::size_t end = r.pos() + len;
  if (end > r.size()) return fail(Errc::dns, "rdata runs past the end of the message");
  std::string out;
  auto name = [&]() -> Result<void> {
    CERTPILOT_TRY(auto n, r.name(), "rdata name");
    CERTPILOT_TRY(auto wire_name, encode_name(n), "rdata name");
    out += wire_name;
    return util::ok();
  };
  auto rest = [&]() -> Result<void> {
    if (r.pos() > end) return fail(Errc::dns, "rdata longer than its length field");
    CERTPILOT_TRY(auto bytes, r.bytes(end - r.pos()), "rdata");
    out += bytes;
    return util::ok();
  };
  Result<void> step = util::ok();
  switch (rtype) {
    case type::kNs:
    case type::kCname:
    case type::kPtr:
    case type::kTsig:
      step = name();
      break;
    case type::kSoa:
      step = name();
      if (step) step = name();
      break;
    case type::kMx: {
      CERTPILOT_TRY(auto pref, r.bytes(2), "MX preference");
      out += pref;
      step = name();
      break;
    }
    default:
      break;
  }
  if (!step) return fail(step.error());
  const bool name_only = rtype == type::kNs || rtype == type::kCname || rtype == type::kPtr || rtype == type::kMx;
  if (name_only && r.pos() != end) return fail(Errc::dns, type_name(rtype) + " rdata: bytes after the name");
  if (auto tail = rest(); !tail) return fail(tail.error());
  if (r.pos() != end) return fail(Errc::dns, "rdata shorter than its length field");
  return out;
}

Result<ResourceRecord> read_rr(Reader& r) {
  ResourceRecord rr;
  rr.offset = r.pos();
  CERTPILOT_TRY(rr.name, r.name(), "record owner");
  CERTPILOT_TRY(rr.type, r.u16(), "record type");
  CERTPILOT_TRY(rr.klass, r.u16(), "record class");
  CERTPILOT_TRY(rr.ttl, r.u32(), "record ttl");
  CERTPILOT_TRY(auto len, r.u16(), "record rdlength");
  CERTPILOT_TRY(rr.rdata, read_rdata(r, rr.type, len), "record " + rr.name + " " + type_name(rr.type));
  return rr;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string type_name(std::uint16_t t) {
  switch (t) {
    case type::kA: return "A";
    case type::kNs: return "NS";
    case type::kCname: return "CNAME";
    case type::kSoa: return "SOA";
    case type::kPtr: return "PTR";
    case type::kMx: return "MX";
    case type::kTxt: return "TXT";
    case type::kAaaa: return "AAAA";
    case type::kOpt: return "OPT";
    case type::kTsig: return "TSIG";
    case type::kAny: return "ANY";
    case type::kCaa: return "CAA";
    default: return "TYPE" + std::to_string(t);
  }
}

std::string answer_outcome(const Message& m) {
  return m.header.rcode == rcode::kNoError ? std::string("no data") : rcode_name(m.header.rcode);
}

std::string rcode_name(std::uint16_t rc) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                       "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rc <= rcode::kNotZone) return kNames[rc];
  switch (rc) {
    case rcode::kBadSig: return "BADSIG";
    case rcode::kBadKey: return "BADKEY";
    case rcode::kBadTime: return "BADTIME";
    case rcode::kBadTrunc: return "BADTRUNC";
    default: return "RCODE" + std::to_string(rc);
  }
}

std::string canonical_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool same_name(std::string_view a, std::string_view b) { return canonical_name(a) == canonical_name(b); }

bool is_subdomain(std::string_view name, std::string_view zone) {
  const std::string n = canonical_name(name);
  const std::string z = canonical_name(zone);
  if (z.empty()) return true;
  if (n == z) return true;
  return n.size() > z.size() && n.compare(n.size() - z.size(), z.size(), z) == 0 && n[n.size() - z.size() - 1] == '.';
}

Result<std::string> encode_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  std::size_t start = 0;
  while (!name.empty() && start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::size_t len = dot - start;
    if (len == 0) return fail(Errc::invalid_input, "DNS name \"" + std::string(name) + "\": empty label");
    if (len > kMaxLabel) {
      return fail(Errc::invalid_input, "DNS name \"" + std::string(name) + "\": label over 63 bytes");
    }
    out.push_back(static_cast<char>(len));
    out.append(name.substr(start, len));
    start = dot + 1;
  }
  out.push_back('\0');
  if (out.size() > kMaxName) return fail(Errc::invalid_input, "DNS name \"" + std::string(name) + "\": over 255 bytes");
  return out;
}

Result<std::string> encode(const Message& m) {
  std::string out;
  out.reserve(512);
  put16(out, m.header.id);
  const auto& h = m.header;
  const std::uint16_t flags = static_cast<std::uint16_t>((h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x400 : 0) |
                                                         (h.tc ? 0x200 : 0) | (h.rd ? 0x100 : 0) | (h.ra ? 0x80 : 0) |
                                                         (h.rcode & 0xf));
  put16(out, flags);
  for (std::size_t n : {m.questions.size(), m.answers.size(), m.authority.size(), m.additional.size()}) {
    if (n > 0xffff) return fail(Errc::invalid_input, "DNS message: too many records");
    put16(out, static_cast<std::uint16_t>(n));
  }
  for (const auto& q : m.questions) {
    CERTPILOT_TRY(auto name, encode_name(q.name), "question");
    out += name;
    put16(out, q.type);
    put16(out, q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const auto& rr : *section) {
      auto r = put_rr(out, rr);
      if (!r) return fail(r.error());
    }
  }
  return out;
}

Result<Message> decode(std::string_view bytes) {
  Reader r(bytes);
  Message m;
  CERTPILOT_TRY(m.header.id, r.u16(), "DNS header");
  CERTPILOT_TRY(auto flags, r.u16(), "DNS header");
  m.header.qr = (flags & 0x8000) != 0;
  m.header.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xf);
  m.header.aa = (flags & 0x400) != 0;
  m.header.tc = (flags & 0x200) != 0;
  m.header.rd = (flags & 0x100) != 0;
  m.header.ra = (flags & 0x80) != 0;
  m.header.rcode = static_cast<std::uint8_t>(flags & 0xf);
  std::uint16_t counts[4];
  for (auto& c : counts) {
    CERTPILOT_TRY(c, r.u16(), "DNS header");
  }
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    Question q;
    CERTPILOT_TRY(q.name, r.name(), "question");
    CERTPILOT_TRY(q.type, r.u16(), "question");
    CERTPILOT_TRY(q.klass, r.u16(), "question");
    m.questions.push_back(std::move(q));
  }
  std::vector<ResourceRecord>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
      CERTPILOT_TRY(auto rr, read_rr(r), "DNS message");
      sections[s]->push_back(std::move(rr));
    }
  }
  if (r.pos() != r.size()) return fail(Errc::dns, "DNS message: " + std::to_string(r.size() - r.pos()) + " trailing bytes");
  return m;
}

Message make_query(const std::string& name, std::uint16_t qtype, bool recursion_desired) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  Message m;
  m.header.id = static_cast<std::uint16_t>(rng() & 0xffff);
  m.header.rd = recursion_desired;
  m.questions.push_back(Question{name, qtype, klass::kIn});
  return m;
}

// --- rdata ---------------------------------------------------------------------------------------

Result<std::string> parse_txt(std::string_view rdata) {
  if (rdata.empty()) return fail(Errc::dns, "TXT rdata: empty");
  std::string out;
  std::size_t i = 0;
  while (i < rdata.size()) {
    const std::size_t len = static_cast<unsigned char>(rdata[i]);
    if (i + 1 + len > rdata.size()) return fail(Errc::dns, "TXT rdata: character-string runs past the end");
    out.append(rdata.substr(i + 1, len));
    i += 1 + len;
  }
  return out;
}

std::string make_txt_rdata(std::string_view value) {
  std::string out;
  do {
    const std::size_t n = std::min<std::size_t>(value.size(), 255);
    out.push_back(static_cast<char>(n));
    out.append(value.substr(0, n));
    value.remove_prefix(n);
  } while (!value.empty());
  return out;
}

Result<std::string> parse_name_rdata(std::string_view rdata) {
  Reader r(rdata);
  CERTPILOT_TRY(auto name, r.name(), "name rdata");
  if (r.pos() != rdata.size()) return fail(Errc::dns, "name rdata: trailing bytes");
  return name;
}

Result<Soa> parse_soa(std::string_view rdata) {
  Reader r(rdata);
  Soa soa;
  CERTPILOT_TRY(soa.mname, r.name(), "SOA rdata");
  CERTPILOT_TRY(soa.rname, r.name(), "SOA rdata");
  for (std::uint32_t* field : {&soa.serial, &soa.refresh, &soa.retry, &soa.expire, &soa.minimum}) {
    CERTPILOT_TRY(*field, r.u32(), "SOA rdata");
  }
  if (r.pos() != rdata.size()) return fail(Errc::dns, "SOA rdata: trailing bytes");
  return soa;
}

Result<std::string> parse_a(std::string_view rdata) {
  if (rdata.size() != 4) return fail(Errc::dns, "A rdata: " + std::to_string(rdata.size()) + " bytes, want 4");
  char buf[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, rdata.data(), buf, sizeof buf) == nullptr) return fail(Errc::dns, "A rdata: unprintable");
  return std::string(buf);
}

Result<std::string> parse_aaaa(std::string_view rdata) {
  if (rdata.size() != 16) return fail(Errc::dns, "AAAA rdata: " + std::to_string(rdata.size()) + " bytes, want 16");
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, rdata.data(), buf, sizeof buf) == nullptr) return fail(Errc::dns, "AAAA rdata: unprintable");
  return std::string(buf);
}

// RFC 8659 §4.1: flags (1 byte), tag length (1 byte, 1..15), tag, value (the rest).
Result<Caa> parse_caa(std::string_view rdata) {
  if (rdata.size() < 2) return fail(Errc::dns, "CAA rdata: shorter than 2 bytes");
  Caa caa;
  caa.flags = static_cast<std::uint8_t>(rdata[0]);
  const std::size_t tag_len = static_cast<unsigned char>(rdata[1]);
  if (tag_len == 0 || tag_len > 15) return fail(Errc::dns, "CAA rdata: tag length " + std::to_string(tag_len));
  if (2 + tag_len > rdata.size()) return fail(Errc::dns, "CAA rdata: tag runs past the end");
  caa.tag = std::string(rdata.substr(2, tag_len));
  for (char c : caa.tag) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) return fail(Errc::dns, "CAA rdata: tag is not alphanumeric");
  }
  caa.value = std::string(rdata.substr(2 + tag_len));
  return caa;
}

std::string make_caa_rdata(const Caa& caa) {
  std::string out;
  out.push_back(static_cast<char>(caa.flags));
  out.push_back(static_cast<char>(caa.tag.size()));
  return out + caa.tag + caa.value;
}

std::string describe(const ResourceRecord& rr) {
  std::string out = rr.name + ". " + std::to_string(rr.ttl) + " " + (rr.klass == klass::kIn ? "IN" : "CLASS" + std::to_string(rr.klass)) +
                    " " + type_name(rr.type) + " ";
  switch (rr.type) {
    case type::kTxt:
      if (auto v = parse_txt(rr.rdata)) return out + quote(*v);
      break;
    case type::kCaa:
      if (auto c = parse_caa(rr.rdata)) return out + std::to_string(c->flags) + " " + c->tag + " " + quote(c->value);
      break;
    case type::kNs:
    case type::kCname:
      if (auto n = parse_name_rdata(rr.rdata)) return out + *n + ".";
      break;
    case type::kA:
      if (auto a = parse_a(rr.rdata)) return out + *a;
      break;
    case type::kAaaa:
      if (auto a = parse_aaaa(rr.rdata)) return out + *a;
      break;
    case type::kSoa:
      if (auto s = parse_soa(rr.rdata)) return out + s->mname + ". " + s->rname + ". " + std::to_string(s->serial);
      break;
    default:
      break;
  }
  return out + "(" + std::to_string(rr.rdata.size()) + " bytes)";
}

}  // namespace certpilot::dns::wire
