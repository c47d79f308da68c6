// [daemon] and [listener]: the sections the scheduler and the embedded TLS listener read.
#include "agent/config.hpp"
#include "agent/config_toml.hpp"

namespace certpilot::agent {

namespace {

using detail::TomlReader;

// "host:port" or "[v6]:port" with a port 1..65535.
bool is_endpoint(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find("]:");
    if (close == std::string_view::npos) return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of(" /") != std::string_view::npos) return false;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const int p = std::stoi(std::string(port));
  return p > 0 && p < 65536;
}

}  // namespace

void parse_daemon_and_listener(TomlReader& r, const toml::table& root, Config& cfg) {
  if (const toml::node* n = root.get("daemon")) {
    if (const auto* t = n->as_table()) {
      r.reject_unknown(*t, "[daemon]", {"max_parallel_orders", "renew_before"});
      if (auto v = r.get_int(*t, "max_parallel_orders", "[daemon]", 1, 64)) {
        cfg.daemon.max_parallel_orders = static_cast<int>(*v);
      }
      if (auto v = r.get_duration(*t, "renew_before", "[daemon]")) {
        if (v->count() <= 0) r.issue(t->get("renew_before"), "[daemon] renew_before must be more than 0");
        else cfg.daemon.renew_before = *v;
      }
    } else {
      r.issue(n, "[daemon] must be a table");
    }
  }
  const toml::node* n = root.get("listener");
  if (!n) return;
  const auto* t = n->as_table();
  if (!t) return r.issue(n, "[listener] must be a table");
  auto& l = cfg.listener;
  r.reject_unknown(*t, "[listener]", {"enabled", "listen", "backend", "default_certificate"});
  l.enabled = r.get_bool(*t, "enabled", "[listener]").value_or(true);
  if (auto v = r.get_string_array(*t, "listen", "[listener]")) {
    for (const toml::node* el : r.elements(*t, "listen")) {
      if (const auto* s = el->as_string(); s && !is_endpoint(s->get())) {
        r.issue(el, "[listener] listen: \"" + s->get() + "\" is not an address:port like \"0.0.0.0:443\" or \"[::]:443\"");
      }
    }
    l.listen = *v;
  }
  if (auto v = r.get_string(*t, "backend", "[listener]")) {
    if (!is_endpoint(*v)) {
      r.issue(t->get("backend"), "[listener] backend \"" + *v + "\" is not host:port like \"127.0.0.1:8080\"");
    }
    l.backend = *v;
  }
  l.default_certificate = r.get_string(*t, "default_certificate", "[listener]").value_or("");
  if (l.enabled) {
    if (l.listen.empty() && !t->get("listen")) {
      r.issue(t, "[listener] is enabled but has no listen = [\"0.0.0.0:443\"]");
    }
    // No backend is fine: the built-in responder answers (a health check, the demo).
  }
  if (!l.default_certificate.empty() && cfg.find_certificate(l.default_certificate) == nullptr) {
    r.issue(t->get("default_certificate"),
            "[listener] default_certificate \"" + l.default_certificate + "\" names no [[certificate]]");
  }
}

}  // namespace certpilot::agent
