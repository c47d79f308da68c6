#include "dns/rfc2136/rfc2136_provider.hpp"

#include <chrono>
#include <ctime>

#include "dns/resolver.hpp"
#include "dns/server_address.hpp"
#include "dns/rfc2136/transport.hpp"
#include "dns/zone.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("dns");

// The `server` option: HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 address; "" = the SOA primary.
Result<ServerAddress> split_server(const std::string& server) {
  if (server.empty()) return ServerAddress{};
  auto a = parse_server_address(server, true);
  if (!a) return fail(a.error().wrapped("rfc2136: server=\"" + util::printable_excerpt(server, 80) + "\""));
  return a;
}

// What we sent and to whom, for judging the answer.
struct Sent {
  std::string server;
  std::string zone;
  std::string request_mac;
  std::uint64_t signed_at = 0;  // our clock when we signed (unix seconds)
};

std::string utc(std::uint64_t unix_seconds) {
  return util::format_rfc3339(util::SysTime(std::chrono::seconds(static_cast<std::int64_t>(unix_seconds))));
}

// RFC 8945 §5.2.3: a BADTIME answer carries the server's current time in Other Data (48 bits);
// a server that leaves it out gets its Time Signed field read instead.
// https://www.rfc-editor.org/rfc/rfc8945#section-5.2.3
std::uint64_t server_clock(const wire::TsigRecord& t) {
  if (t.other.size() != 6) return t.time_signed;
  std::uint64_t v = 0;
  for (const char c : t.other) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// BADTIME is not a key problem: the two clocks are further apart than the fudge allows.
std::string clock_skew_hint(const wire::TsigRecord& t, std::uint64_t ours) {
  const std::uint64_t theirs = server_clock(t);
  const std::uint64_t diff = theirs > ours ? theirs - ours : ours - theirs;
  return "the server's clock and ours differ by " + std::to_string(diff) + " s (server " + utc(theirs) + ", ours " +
         utc(ours) + "; TSIG allows " + std::to_string(t.fudge) +
         " s); check that NTP keeps time on both hosts (chronyc tracking or timedatectl)";
}

std::string key_hint(const wire::TsigKey& key, const std::string& key_file_algorithm) {
  std::string hint = "check tsig-key-name, tsig-algorithm and the secret";
  if (!key_file_algorithm.empty()) {
    hint += "; tsig-algorithm=" + wire::tsig_algorithm_name(key.algorithm) + " overrides " + key_file_algorithm +
            " from the key file";
  }
  return hint;
}

// What the server's answer means for the operator: the rcode, the TSIG error, and a hint.
Result<void> judge_answer(const std::string& answer, const Sent& sent, const wire::TsigKey& key,
                          const std::string& key_file_algorithm) {
  const std::string& server = sent.server;
  const std::string& zone = sent.zone;
  CERTPILOT_TRY(auto m, wire::decode(answer), "answer from " + server);
  const auto tsig = wire::find_tsig(m);
  const std::string rc = wire::rcode_name(m.header.rcode);
  if (tsig && tsig->error != 0) {
    // RFC 8945 §5.2: the server could not verify our signature; its answer is unsigned.
    const std::string head = server + " answered " + rc + " with TSIG error " + wire::rcode_name(tsig->error) + ": ";
    if (tsig->error == wire::rcode::kBadTime) return fail(Errc::dns, head + clock_skew_hint(*tsig, sent.signed_at));
    return fail(Errc::dns, head + "it rejected key " + key.name + " (" + key_hint(key, key_file_algorithm) + ")");
  }
  if (m.header.rcode == wire::rcode::kNotAuth) {
    return fail(Errc::dns, server + " answered NOTAUTH: it is not the primary for zone " + zone + " or does not know key " + key.name);
  }
  if (m.header.rcode == wire::rcode::kRefused) {
    return fail(Errc::dns, server + " answered REFUSED: key " + key.name + " may not update zone " + zone);
  }
  if (m.header.rcode == wire::rcode::kNotZone) {
    return fail(Errc::dns, server + " answered NOTZONE: the name is not in zone " + zone);
  }
  if (m.header.rcode != wire::rcode::kNoError) return fail(Errc::dns, server + " answered " + rc);
  // RFC 8945 §5.3: a signed request's answer must be signed and verify.
  if (auto v = wire::tsig_verify_response(answer, key, sent.request_mac, static_cast<std::uint64_t>(std::time(nullptr))); !v) {
    return fail(v.error().wrapped("answer from " + server));
  }
  return util::ok();
}

// The address of the update server's host name, IPv4 first, then IPv6: an IPv6-only primary is
// common enough on modern networks. A name without either says where the name came from.
Result<std::string> address_of(Resolver& resolver, const std::string& host, std::uint16_t port,
                               const std::string& zone, bool is_primary) {
  std::vector<std::string> seen;
  for (const std::uint16_t type : {wire::type::kA, wire::type::kAaaa}) {
    CERTPILOT_TRY(auto answer, resolver.query(host, type), "resolving " + host);
    for (const auto& rr : answer.answers) {
      if (rr.type != type) continue;
      auto ip = type == wire::type::kA ? wire::parse_a(rr.rdata) : wire::parse_aaaa(rr.rdata);
      if (ip) return address_with_port(*ip, port);
    }
    seen.push_back(wire::type_name(type) + ": " + wire::answer_outcome(answer));
  }
  const std::string answered = resolver.description() + " answered " + util::join(seen, ", ");
  if (!is_primary) {
    return fail(Errc::dns, "server=" + host + " has no A or AAAA record: " + answered + "; check the name or give an address");
  }
  return fail(Errc::dns, "no server= option was given, so the update goes to zone " + zone + "'s SOA primary (MNAME) " +
                             host + ", which has no A or AAAA record: " + answered +
                             "; name the update server with --dns-opt server=HOST:PORT");
}

}  // namespace

Result<std::unique_ptr<Rfc2136Provider>> Rfc2136Provider::create(Rfc2136Config config) {
  CERTPILOT_TRY(auto key, wire::make_tsig_key(config.key_name, config.algorithm, config.secret), "rfc2136");
  if (config.timeout.count() < 1) {
    return fail(Errc::invalid_input, "rfc2136: timeout must be at least 1 second (e.g. --dns-opt timeout=10)");
  }
  return std::unique_ptr<Rfc2136Provider>(new Rfc2136Provider(std::move(config), std::move(key)));
}

Result<std::string> Rfc2136Provider::zone_of(const TxtRecord& record) {
  if (!record.zone.empty()) return wire::canonical_name(record.zone);
  CERTPILOT_TRY(auto resolver, make_resolver(), "finding the zone");
  return find_zone(*resolver, record.fqdn);
}

// The operator's resolvers (--dns-resolver, or this provider's `resolvers` option), so a split
// horizon sees one view; the system's only when neither was given.
Result<ResolverPtr> Rfc2136Provider::make_resolver() const {
  ResolverOptions ro;
  ro.servers = config_.resolvers;
  return Resolver::create(std::move(ro));
}

// RFC 2136 §4: send to the primary (SOA MNAME) unless the operator names a server.
Result<std::string> Rfc2136Provider::target_server(const std::string& zone) {
  auto checked = split_server(config_.server);  // checked at creation: cannot fail here
  if (!checked) return fail(checked.error());
  const ServerAddress& given = *checked;
  std::string host = given.host;
  const std::uint16_t port = given.port.value_or(config_.port);
  if (given.is_ip) return address_with_port(host, port);
  CERTPILOT_TRY(auto resolver, make_resolver(), "finding the primary of " + zone);
  const bool is_primary = host.empty();
  if (is_primary) {
    CERTPILOT_TRY(host, find_primary(*resolver, zone), "no server= option was given");
  }
  if (auto ip = parse_server_address(host, false); ip) return address_with_port(ip->host, port);
  return address_of(*resolver, host, port, zone, is_primary);
}

// Errors name the zone and the server; the solver adds "rfc2136: adding TXT <fqdn>" in front.
Result<void> Rfc2136Provider::update(const TxtRecord& record, bool add) {
  auto found = zone_of(record);  // its errors start "finding the zone of <fqdn>"
  if (!found) return fail(found.error());
  const std::string& zone = *found;
  if (!wire::is_subdomain(record.fqdn, zone)) {
    return fail(Errc::invalid_input, "the name is not in zone " + zone);
  }
  CERTPILOT_TRY(auto server, target_server(zone), "zone " + zone);

  wire::Message m;
  m.header.id = wire::make_query(zone, wire::type::kSoa, false).header.id;
  m.header.opcode = wire::opcode::kUpdate;
  m.questions.push_back({zone, wire::type::kSoa, wire::klass::kIn});  // zone section, RFC 2136 §2.3
  const std::string rdata = wire::make_txt_rdata(record.value);
  // §2.5.4: class NONE, TTL 0 deletes exactly this RR; other values at the name are untouched.
  m.authority.push_back({record.fqdn, wire::type::kTxt, wire::klass::kNone, 0, rdata, 0});
  if (add) {
    m.authority.push_back({record.fqdn, wire::type::kTxt, wire::klass::kIn,
                           static_cast<std::uint32_t>(record.ttl.count()), rdata, 0});  // §2.5.1
  }
  const std::string where = "zone " + zone + " at " + server;
  CERTPILOT_TRY(auto bytes, wire::encode(m), where);
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  CERTPILOT_TRY(auto signed_msg, wire::tsig_sign(bytes, key_, now), where);
  CERTPILOT_TRY(auto answer, rfc2136::exchange(server, signed_msg.wire, config_.timeout), "zone " + zone);
  const Sent sent{server, zone, signed_msg.mac, now};
  CERTPILOT_TRY_VOID(judge_answer(answer, sent, key_, config_.key_file_algorithm), "zone " + zone);
  // Debug: the solver logs each record at info; this line adds the server that took the update.
  kLog.debug(add ? "TXT record presented" : "TXT record removed",
             {{"provider", "rfc2136"}, {"fqdn", record.fqdn}, {"zone", zone}, {"ns", server}});
  return util::ok();
}

Result<void> Rfc2136Provider::present(const TxtRecord& record) { return update(record, true); }
Result<void> Rfc2136Provider::cleanup(const TxtRecord& record) { return update(record, false); }

namespace {

// "tsig-secret-file /etc/k.conf" or "tsig-secret-env VAR": where a key file's errors point.
std::string secret_source(const ProviderOptions& opts) {
  const std::string file = option_or(opts, "tsig-secret-file", "");
  return file.empty() ? "tsig-secret-env " + option_or(opts, "tsig-secret-env", "") : "tsig-secret-file " + file;
}

bool same_algorithm(const std::string& a, const std::string& b) {
  auto pa = wire::parse_tsig_algorithm(a);
  auto pb = wire::parse_tsig_algorithm(b);
  if (pa && pb) return *pa == *pb;
  return wire::same_name(a, b);
}

// When the secret is a BIND key file, take the key tsig-key-name names (or the only one) from it:
// its secret and name, and its algorithm unless the options give one. An explicit tsig-algorithm
// still wins over the file's, as before; it is remembered so a rejection can point at it.
Result<void> use_key_file(Rfc2136Config& c, const std::string& source) {
  const auto keys = parse_bind_keys(c.secret.reveal());
  if (keys.empty()) return util::ok();  // a bare base64 secret
  auto selected = select_bind_key(keys, c.key_name, source);
  if (!selected) return fail(selected.error());
  const BindKeyClause& key = *selected;
  // The file's spelling, as the server's configuration has it (names go without the final dot).
  c.key_name = key.name;
  if (!c.key_name.empty() && c.key_name.back() == '.') c.key_name.pop_back();
  if (c.algorithm.empty()) {
    c.algorithm = key.algorithm;
  } else if (!key.algorithm.empty() && !same_algorithm(c.algorithm, key.algorithm)) {
    c.key_file_algorithm = key.algorithm;
    kLog.warn("tsig-algorithm overrides the key file's algorithm; the server will likely reject the key",
              {{"provider", "rfc2136"}, {"key", key.name}, {"tsig-algorithm", c.algorithm}, {"key-file-algorithm", key.algorithm}});
  }
  c.secret = key.secret;
  return util::ok();
}

}  // namespace

Result<ProviderPtr> make_rfc2136_provider(const ProviderOptions& opts, const SecretReader& secrets,
                                          const std::vector<std::string>& resolvers) {
  if (auto k = check_option_keys("rfc2136", opts, kRfc2136Options); !k) {
    return fail(k.error());
  }
  Rfc2136Config c;
  c.server = option_or(opts, "server", "");
  if (auto server = split_server(c.server); !server) return fail(server.error());
  const auto own = list_option(opts, "resolvers");
  auto checked = normalize_resolvers(own.empty() ? resolvers : own);
  if (!checked) return fail(checked.error().wrapped(own.empty() ? "rfc2136: resolvers" : "rfc2136: option resolvers"));
  c.resolvers = std::move(*checked);
  const std::string port = option_or(opts, "port", "53");
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return fail(Errc::invalid_input, "rfc2136: option port=\"" + util::printable_excerpt(port, 20) + "\" is not a port");
  }
  c.port = static_cast<std::uint16_t>(std::stoi(port));
  CERTPILOT_TRY(c.timeout, timeout_option(opts, c.timeout), "rfc2136");
  auto secret = load_secret("rfc2136", opts, "tsig-secret", secrets);
  if (!secret) return fail(secret.error());
  c.key_name = option_or(opts, "tsig-key-name", "");
  c.algorithm = option_or(opts, "tsig-algorithm", "");
  c.secret = std::move(*secret);
  if (auto k = use_key_file(c, secret_source(opts)); !k) return fail(k.error().wrapped("rfc2136"));
  if (c.algorithm.empty()) c.algorithm = "hmac-sha256";
  if (c.key_name.empty()) return fail(Errc::invalid_input, "rfc2136: option tsig-key-name is required");
  auto p = Rfc2136Provider::create(std::move(c));
  if (!p) return fail(p.error());
  return ProviderPtr(std::move(*p));
}

}  // namespace certpilot::dns
