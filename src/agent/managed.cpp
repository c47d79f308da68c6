#include "agent/managed.hpp"

#include <algorithm>

#include "util/cancel.hpp"

namespace certpilot::agent {

util::Result<store::Store> open_store(const Config& config) {
  store::StoreOptions options;
  options.root = config.storage.dir;
  options.archive_keep = config.storage.archive_keep;
  CERTPILOT_TRY(auto store, store::Store::open(options), "storage " + config.storage.dir);
  return store;
}

util::Result<std::vector<RenewResult>> renew_all(const Config& config, const std::vector<std::string>& names,
                                                 bool force, const std::function<void(const RenewResult&)>& on_result) {
  for (const auto& n : names) {
    if (config.find_certificate(n) == nullptr) {
      return util::fail(util::Errc::invalid_input, "--name " + n + " is not a certificate in " + config.path);
    }
  }
  CERTPILOT_TRY(auto store, open_store(config), "renew");
  RenewEnv env;
  env.config = &config;
  env.store = &store;
  env.force = force;
  std::vector<RenewResult> results;
  for (const auto& cert : config.certificates) {
    if (!names.empty() && std::find(names.begin(), names.end(), cert.name) == names.end()) continue;
    if (util::cancel_requested()) break;
    results.push_back(renew_one(cert, env));
    if (on_result) on_result(results.back());
  }
  return results;
}

util::Result<std::vector<CertificateStatus>> certificate_status(const Config& config) {
  CERTPILOT_TRY(auto store, open_store(config), "status");
  std::vector<CertificateStatus> out;
  for (const auto& cert : config.certificates) {
    CertificateStatus s;
    s.name = cert.name;
    s.domains = cert.domains;
    auto meta = store.read_meta(cert.name);
    if (!meta) {
      s.read_error = meta.error().message;
    } else if (*meta) {
      const auto& m = **meta;
      s.serial = m.serial;
      s.not_after = m.not_after;
      s.renew_at = m.renew_at;
      s.next_check = m.next_check;
      s.failures = m.failure_count;
      s.last_error = m.last_error;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace certpilot::agent
