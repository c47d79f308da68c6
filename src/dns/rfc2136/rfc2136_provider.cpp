#include "dns/rfc2136/rfc2136_provider.hpp"

#include <algorithm>
#include <ctime>
#include <optional>
#include <regex>

#include "dns/resolver.hpp"
#include "dns/server_address.hpp"
#include "dns/rfc2136/transport.hpp"
#include "dns/zone.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

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

// What the server's answer means for the operator: the rcode, the TSIG error, and a hint.
Result<void> judge_answer(const std::string& answer, const std::string& request_mac, const wire::TsigKey& key,
                          const std::string& server, const std::string& zone) {
  CERTPILOT_TRY(auto m, wire::decode(answer), "answer from " + server);
  const auto tsig = wire::find_tsig(m);
  const std::string rc = wire::rcode_name(m.header.rcode);
  if (tsig && tsig->error != 0) {
    // RFC 8945 §5.2: the server could not verify our signature; its answer is unsigned.
    return fail(Errc::dns, server + " answered " + rc + " with TSIG error " + wire::rcode_name(tsig->error) +
                               ": it rejected key " + key.name + " (check tsig-key-name, tsig-algorithm and the secret)");
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
  if (auto v = wire::tsig_verify_response(answer, key, request_mac, static_cast<std::uint64_t>(std::time(nullptr))); !v) {
    return fail(v.error().wrapped("answer from " + server));
  }
  return util::ok();
}

}  // namespace

std::optional<BindKeyClause> parse_bind_key(const std::string& text) {
  static const std::regex kName(R"re(key\s+"?([A-Za-z0-9._-]+)"?\s*\{)re");
  static const std::regex kAlg(R"re(algorithm\s+"?([A-Za-z0-9._-]+)"?\s*;)re");
  static const std::regex kSecret(R"re(secret\s+"([A-Za-z0-9+/=]+)"\s*;)re");
  std::smatch name, alg, secret;
  if (!std::regex_search(text, name, kName) || !std::regex_search(text, secret, kSecret)) return std::nullopt;
  BindKeyClause k;
  k.name = name[1];
  if (std::regex_search(text, alg, kAlg)) k.algorithm = alg[1];
  k.secret = util::SecretString(secret[1]);
  return k;
}

Result<std::unique_ptr<Rfc2136Provider>> Rfc2136Provider::create(Rfc2136Config config) {
  CERTPILOT_TRY(auto key, wire::make_tsig_key(config.key_name, config.algorithm, config.secret), "rfc2136");
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
  auto checked = split_server(config_.server);  // its error names the provider already
  if (!checked) return fail(checked.error());
  const ServerAddress& given = *checked;
  std::string host = given.host;
  const std::uint16_t port = given.port.value_or(config_.port);
  if (given.is_ip) return address_with_port(host, port);
  CERTPILOT_TRY(auto resolver, make_resolver(), "finding the primary of " + zone);
  if (host.empty()) {
    CERTPILOT_TRY(host, find_primary(*resolver, zone), "rfc2136");
  }
  if (auto ip = parse_server_address(host, false); ip) return address_with_port(ip->host, port);
  // IPv4 first, then IPv6: an IPv6-only primary is common enough on modern networks.
  for (const std::uint16_t type : {wire::type::kA, wire::type::kAaaa}) {
    CERTPILOT_TRY(auto answer, resolver->query(host, type), "resolving " + host);
    for (const auto& rr : answer.answers) {
      if (rr.type != type) continue;
      auto ip = type == wire::type::kA ? wire::parse_a(rr.rdata) : wire::parse_aaaa(rr.rdata);
      if (ip) return address_with_port(*ip, port);
    }
  }
  return fail(Errc::dns, "resolving " + host + ": no A or AAAA record at " + resolver->description());
}

Result<void> Rfc2136Provider::update(const TxtRecord& record, bool add, const char* verb) {
  const std::string what = std::string(verb) + " TXT " + record.fqdn;
  CERTPILOT_TRY(auto zone, zone_of(record), "rfc2136: " + what);
  if (!wire::is_subdomain(record.fqdn, zone)) {
    return fail(Errc::invalid_input, "rfc2136: " + what + ": the name is not in zone " + zone);
  }
  CERTPILOT_TRY(auto server, target_server(zone), "rfc2136: " + what);

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
  CERTPILOT_TRY(auto bytes, wire::encode(m), "rfc2136: " + what);
  CERTPILOT_TRY(auto signed_msg, wire::tsig_sign(bytes, key_, static_cast<std::uint64_t>(std::time(nullptr))),
                "rfc2136: " + what);
  CERTPILOT_TRY(auto answer, rfc2136::exchange(server, signed_msg.wire, config_.timeout), "rfc2136: " + what + " at " + server);
  if (auto j = judge_answer(answer, signed_msg.mac, key_, server, zone); !j) {
    return fail(j.error().wrapped("rfc2136: " + what + " in zone " + zone));
  }
  kLog.info(add ? "TXT record presented" : "TXT record cleaned up",
            {{"provider", "rfc2136"}, {"fqdn", record.fqdn}, {"zone", zone}, {"ns", server}});
  return util::ok();
}

Result<void> Rfc2136Provider::present(const TxtRecord& record) { return update(record, true, "add"); }
Result<void> Rfc2136Provider::cleanup(const TxtRecord& record) { return update(record, false, "delete"); }

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
  CERTPILOT_TRY(c.timeout, seconds_option(opts, "timeout", c.timeout), "rfc2136");
  auto r1_ = load_secret("rfc2136", opts, "tsig-secret", secrets);
  if (!r1_) return fail(std::move(r1_).error());
  auto secret = std::move(*r1_);
  c.key_name = option_or(opts, "tsig-key-name", "");
  c.algorithm = option_or(opts, "tsig-algorithm", "");
  if (auto clause = parse_bind_key(secret.reveal())) {  // a BIND key file: it names the key too
    if (c.key_name.empty()) c.key_name = clause->name;
    if (c.algorithm.empty()) c.algorithm = clause->algorithm;
    secret = clause->secret;
  }
  if (c.algorithm.empty()) c.algorithm = "hmac-sha256";
  if (c.key_name.empty()) return fail(Errc::invalid_input, "rfc2136: option tsig-key-name is required");
  c.secret = std::move(secret);
  auto r2_ = Rfc2136Provider::create(std::move(c));
  if (!r2_) return fail(std::move(r2_).error());
  auto p = std::move(*r2_);
  return ProviderPtr(std::move(p));
}

}  // namespace certpilot::dns
