#include "agent/config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/config_settings.hpp"
#include "agent/config_toml.hpp"
#include "dns/factory.hpp"
#include "dns/provider_options.hpp"
#include "dns/server_address.hpp"
#include "store/store.hpp"
#include "util/domain_name.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

namespace {

using detail::TomlReader;

constexpr const char* kLetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";
constexpr const char* kLetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory";
const std::set<std::string> kProviders = {"rfc2136", "pdns", "cloudflare", "exec", "challtestsrv"};

bool is_url(std::string_view s) { return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0; }

void parse_ca(TomlReader& r, const toml::table& root, Config& cfg) {
  const toml::node* n = root.get("ca");
  if (!n || !n->as_table()) {
    r.issue(n, n ? "[ca] must be a table" : "the [ca] section is required (at least: directory, email, agree_tos)");
    return;
  }
  const auto& t = *n->as_table();
  r.reject_unknown(t, "[ca]", {"directory", "ca_bundle", "email", "agree_tos", "eab_kid", "eab_hmac_key_file",
                               "preferred_chain", "profile"});
  auto& ca = cfg.ca;
  if (auto v = r.get_string(t, "directory", "[ca]", true)) {
    if (*v == "letsencrypt") ca.directory = kLetsEncrypt;
    else if (*v == "letsencrypt-staging") ca.directory = kLetsEncryptStaging;
    else if (is_url(*v)) ca.directory = *v;
    else r.issue(t.get("directory"), "[ca] directory must be an https:// URL, \"letsencrypt\" or \"letsencrypt-staging\"");
  }
  ca.ca_bundle = r.get_string(t, "ca_bundle", "[ca]").value_or("");
  ca.email = r.get_string(t, "email", "[ca]").value_or("");
  if (!ca.email.empty() && (ca.email.find('@') == std::string::npos || ca.email.find(' ') != std::string::npos ||
                            ca.email.rfind("mailto:", 0) == 0)) {
    r.issue(t.get("email"), "[ca] email must be a plain address like \"admin@example.com\" (no \"mailto:\")");
  }
  ca.agree_tos = r.get_bool(t, "agree_tos", "[ca]").value_or(false);
  ca.eab_kid = r.get_string(t, "eab_kid", "[ca]").value_or("");
  ca.eab_hmac_key_file = r.get_string(t, "eab_hmac_key_file", "[ca]").value_or("");
  if (ca.eab_kid.empty() != ca.eab_hmac_key_file.empty()) {
    r.issue(t.get(ca.eab_kid.empty() ? "eab_hmac_key_file" : "eab_kid"),
            "[ca] eab_kid and eab_hmac_key_file go together: set both or neither");
  }
  ca.preferred_chain = r.get_string(t, "preferred_chain", "[ca]").value_or("");
  ca.profile = r.get_string(t, "profile", "[ca]").value_or("");
}

void parse_storage(TomlReader& r, const toml::table& root, Config& cfg) {
  const toml::node* n = root.get("storage");
  if (!n) return;
  if (!n->as_table()) return r.issue(n, "[storage] must be a table");
  const auto& t = *n->as_table();
  r.reject_unknown(t, "[storage]", {"dir", "archive_keep"});
  if (auto v = r.get_string(t, "dir", "[storage]")) {
    if (v->empty() || v->front() != '/') r.issue(t.get("dir"), "[storage] dir must be an absolute path");
    else cfg.storage.dir = *v;
  }
  if (auto v = r.get_int(t, "archive_keep", "[storage]", 0, 1000)) cfg.storage.archive_keep = static_cast<int>(*v);
}

// tsig_key_name and tsig-key-name are one option (dns_settings_of folds `_` into `-`): both given
// would silently keep one. A secret file that is missing or a folder fails every order of this
// setup: a warning now, not an error, because the daemon must still start (and serve the other
// certificates) when a secret is provisioned after it. Its content is read only when an order
// needs it (see the placeholder below); a file this user may not see (EACCES) is not judged.
void check_option_spellings(TomlReader& r, const toml::node* options, const std::string& where,
                            const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> seen;  // folded key -> the spelling met first
  for (const auto& [key, value] : values) {
    std::string folded = key;
    std::replace(folded.begin(), folded.end(), '_', '-');
    if (auto [it, fresh] = seen.emplace(folded, key); !fresh) {
      r.issue(options, where + " options: " + it->second + " and " + key + " are the same option; keep one");
    }
    const bool secret_file = folded.size() > 5 && folded.compare(folded.size() - 5, 5, "-file") == 0;
    if (!secret_file || value.empty()) continue;
    std::error_code ec;
    const auto st = std::filesystem::status(value, ec);
    if (st.type() == std::filesystem::file_type::not_found) {
      r.warn(options, where + " options." + key + ": " + util::secret_file_label(value) +
                          ": no such file (yet); orders using this setup fail until it exists");
    } else if (std::filesystem::is_directory(st)) {
      r.warn(options, where + " options." + key + ": " + value +
                          " is a folder; give the file that holds the secret (orders using this setup fail until then)");
    }
  }
}

// caa_identity: one domain or a list, as --caa-identity may be repeated.
std::vector<std::string> parse_caa_identities(TomlReader& r, const toml::table& t, const std::string& where) {
  std::vector<std::string> out;
  const toml::node* n = t.get("caa_identity");
  if (n == nullptr) return out;
  std::vector<const toml::node*> items;
  if (n->is_array()) items = r.elements(t, "caa_identity");
  else items.push_back(n);
  for (const toml::node* el : items) {
    const auto* sv = el->as_string();
    if (sv == nullptr) {
      r.issue(el, where + " caa_identity must be a string or an array of strings, e.g. \"letsencrypt.org\"");
      continue;
    }
    if (auto id = normalize_caa_identity(sv->get())) out.push_back(*id);
    else r.issue(el, where + " caa_identity: " + id.error().message);
  }
  return out;
}

void parse_dns(TomlReader& r, const toml::table& root, Config& cfg) {
  const toml::node* n = root.get("dns");
  if (!n) return;
  if (!n->as_table()) return r.issue(n, "dns must be tables: [dns.<setup-name>]");
  for (auto&& [key, value] : *n->as_table()) {
    const std::string name(key.str());
    const std::string where = "[dns." + name + "]";
    const auto* t = value.as_table();
    if (!t) {
      r.issue(&value, "dns." + name + " must be a table: write [dns." + name + "] with provider = \"...\"");
      continue;
    }
    r.reject_unknown(*t, where, {"provider", "options", "resolvers", "propagation", "propagation_timeout",
                                 "caa_identity"});
    DnsSetup s;
    s.name = name;
    s.line = t->source().begin.line;
    if (auto v = r.get_string(*t, "provider", where, true)) {
      if (kProviders.count(*v) == 0) {
        r.issue(t->get("provider"), where + " provider \"" + *v +
                                        "\" is not known; use rfc2136, pdns, cloudflare, exec or challtestsrv");
      }
      s.provider = *v;
    }
    if (const toml::node* o = t->get("options")) {
      if (const auto* ot = o->as_table()) {
        for (auto&& [okey, oval] : *ot) {
          // Never echo option values: they may be tokens or TSIG secrets.
          if (const auto* sv = oval.as_string()) s.options[std::string(okey.str())] = sv->get();
          else r.issue(&oval, where + " options." + std::string(okey.str()) + " must be a string");
        }
      } else {
        r.issue(o, where + " options must be a table of strings, e.g. options = { server = \"127.0.0.1:53\" }");
      }
    }
    check_option_spellings(r, t->get("options"), where, s.options);
    bool options_known = false;
    if (const auto* keys = dns::provider_option_keys(s.provider)) {
      // Unknown keys now, not at the first renewal: a typo (tsig_secret_fil) or a secret written
      // inline (api_key) would otherwise pass check-config and a SIGHUP, then fail every order.
      const toml::node* o = t->get("options");
      options_known = true;
      for (const auto& [okey, oval] : dns_settings_of(s).options) {
        if (auto k = dns::check_option_keys(s.provider, {{okey, oval}}, *keys); !k) {
          options_known = false;
          r.issue(o, where + " options: " + k.error().message +
                         "; secrets go in a file or variable named by the *-file or *-env option");
        }
      }
    }
    bool resolvers_ok = true;
    if (auto v = r.get_string_array(*t, "resolvers", where)) {
      for (const toml::node* el : r.elements(*t, "resolvers")) {
        if (const auto* sv = el->as_string()) {
          // The same check as --dns-resolver (and DnsContext): an address, a port 1-65535, no name.
          if (auto ok = dns::normalize_resolver(sv->get()); !ok) {
            r.issue(el, where + " resolvers: \"" + sv->get() + "\": " + ok.error().message);
            resolvers_ok = false;
          }
        }
      }
      s.resolvers = *v;
    }
    if (auto v = r.get_string(*t, "propagation", where)) {
      if (*v == "authoritative") s.propagation = Propagation::authoritative;
      else if (*v == "resolvers") s.propagation = Propagation::resolvers;
      else if (*v == "off") s.propagation = Propagation::off;
      else r.issue(t->get("propagation"), where + " propagation must be \"authoritative\", \"resolvers\" or \"off\"");
    }
    if (s.propagation == Propagation::resolvers && s.resolvers.empty()) {
      r.issue(t, where + " propagation = \"resolvers\" needs resolvers = [\"host:port\", ...]");
    }
    if (auto v = r.get_duration(*t, "propagation_timeout", where)) {
      if (v->count() <= 0) r.issue(t->get("propagation_timeout"), where + " propagation_timeout must be more than 0");
      else s.propagation_timeout = *v;
    }
    s.caa_identities = parse_caa_identities(r, *t, where);
    if (options_known) {
      // The values too: build the provider once, so a missing program, a bad server, TSIG
      // algorithm or URL, or two sources for one secret fail check-config and a SIGHUP rather than
      // every order. The secrets themselves are read only when an order needs them (a `status` run
      // by a monitoring user need not be able to read them): a placeholder stands in here.
      const dns::SecretReader placeholder = [](const dns::SecretRef&) -> util::Result<util::SecretString> {
        return util::SecretString("placeholder");
      };
      // Resolvers already reported above are left out, so one bad port is one error, on its line.
      const std::vector<std::string> resolvers = resolvers_ok ? s.resolvers : std::vector<std::string>{};
      if (auto p = dns::make_provider(s.provider, dns_settings_of(s).options, placeholder, resolvers); !p) {
        const toml::node* o = t->get("options");
        r.issue(o != nullptr ? o : t, where + " " + p.error().message);
      }
    }
    cfg.dns[name] = std::move(s);
  }
}

void parse_certificates(TomlReader& r, const toml::table& root, Config& cfg) {
  const toml::node* n = root.get("certificate");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) return r.issue(n, "certificates are written [[certificate]] (an array of tables)");
  std::set<std::string> names;
  for (const auto& el : *arr) {
    const auto& t = *el.as_table();
    CertificateConfig c;
    c.line = t.source().begin.line;
    r.reject_unknown(t, "[[certificate]]", {"name", "domains", "key_type", "dns", "deploy_hook", "deploy_hook_timeout"});
    if (auto v = r.get_string(t, "name", "[[certificate]]", true)) {
      if (auto ok = store::validate_certificate_name(*v); !ok) r.issue(t.get("name"), ok.error().message);
      else if (!names.insert(*v).second) r.issue(t.get("name"), "certificate name \"" + *v + "\" is used twice");
      c.name = *v;
    }
    const std::string where = "[[certificate]] " + (c.name.empty() ? std::string() : "\"" + c.name + "\" ");
    if (auto v = r.get_string_array(t, "domains", where, true)) {
      if (v->empty()) r.issue(t.get("domains"), where + "domains must name at least one domain");
      std::set<std::string> seen;
      const auto nodes = r.elements(t, "domains");
      for (std::size_t i = 0; i < v->size(); ++i) {
        auto d = util::normalize_domain((*v)[i]);
        if (d) {
          if (auto fits = util::check_dns01_name_length(*d); !fits) d = util::fail(fits.error());
        }
        if (!d) r.issue(nodes[i], d.error().message);
        else if (!seen.insert(*d).second) r.issue(nodes[i], "domain \"" + *d + "\" is listed twice");
        else c.domains.push_back(*d);
      }
    }
    if (auto v = r.get_string(t, "key_type", where)) {
      if (auto k = crypto::parse_key_type(*v)) c.key_type = *k;
      else r.issue(t.get("key_type"), k.error().message);
    }
    if (auto v = r.get_string(t, "dns", where)) {
      c.dns = *v;
    } else if (cfg.dns.size() == 1 && !t.get("dns")) {
      c.dns = cfg.dns.begin()->first;  // the only setup is the obvious choice
    } else if (!t.get("dns")) {
      r.issue_at(t.source(), where + "needs dns = \"<setup-name>\" naming one of the [dns.<setup-name>] sections");
    }
    if (!c.dns.empty() && cfg.dns.count(c.dns) == 0) {
      std::string known;
      for (const auto& [k, _] : cfg.dns) known += (known.empty() ? "" : ", ") + k;
      r.issue(t.get("dns") ? t.get("dns") : &t, where + "dns = \"" + c.dns + "\" names no [dns." + c.dns +
                                                      "] section" + (known.empty() ? "" : " (defined: " + known + ")"));
    }
    c.deploy_hook = r.get_string(t, "deploy_hook", where).value_or("");
    if (!c.deploy_hook.empty() && c.deploy_hook.front() != '/') {
      r.issue(t.get("deploy_hook"), where + "deploy_hook must be an absolute path to a program");
    }
    if (auto v = r.get_duration(t, "deploy_hook_timeout", where)) c.deploy_hook_timeout = *v;
    cfg.certificates.push_back(std::move(c));
  }
}

}  // namespace

// Defined in config_sections.cpp.
void parse_daemon_and_listener(TomlReader& r, const toml::table& root, Config& cfg);

std::string_view to_string(Propagation p) {
  switch (p) {
    case Propagation::authoritative: return "authoritative";
    case Propagation::resolvers: return "resolvers";
    case Propagation::off: return "off";
  }
  return "authoritative";
}

const CertificateConfig* Config::find_certificate(std::string_view name) const {
  for (const auto& c : certificates) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

ConfigCheck check_config_text(std::string_view text, std::string_view file_name) {
  ConfigCheck out;
  TomlReader r;
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    // toml++ reports syntax errors by exception; it stops here, at the first one.
    r.issue_at(e.source(), "TOML syntax: " + std::string(e.description()));
    out.issues = std::move(r.issues());
    return out;
  }
  Config cfg;
  cfg.path = std::string(file_name);
  r.reject_unknown(root, "the top level", {"ca", "storage", "dns", "certificate", "daemon", "listener"});
  parse_ca(r, root, cfg);
  parse_storage(r, root, cfg);
  parse_dns(r, root, cfg);
  parse_certificates(r, root, cfg);
  parse_daemon_and_listener(r, root, cfg);
  const auto by_position = [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  };
  out.issues = std::move(r.issues());
  std::stable_sort(out.issues.begin(), out.issues.end(), by_position);
  out.warnings = std::move(r.warnings());
  std::stable_sort(out.warnings.begin(), out.warnings.end(), by_position);
  for (const auto& w : out.warnings) cfg.warnings.push_back(format_issue(file_name, w));
  if (out.issues.empty()) out.config = std::move(cfg);
  return out;
}

std::string format_issue(std::string_view file_name, const ConfigIssue& issue) {
  std::string out(file_name);
  if (issue.line > 0) out += ":" + std::to_string(issue.line) + ":" + std::to_string(issue.column);
  return out + ": " + issue.message;
}

util::Result<Config> load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return util::fail(util::Errc::io, "reading config " + path.string() + ": cannot open the file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path.string());
}

util::Result<Config> parse_config(std::string_view text, const std::string& path) {
  auto check = check_config_text(text, path);
  if (check.config) {
    check.config->text = std::string(text);
    return std::move(*check.config);
  }
  util::Error err(util::Errc::invalid_input, "config " + path + ": " + std::to_string(check.issues.size()) +
                                                 (check.issues.size() == 1 ? " error" : " errors"));
  for (const auto& issue : check.issues) err.details.push_back(format_issue(path, issue));
  return util::fail(std::move(err));
}

}  // namespace certpilot::agent
