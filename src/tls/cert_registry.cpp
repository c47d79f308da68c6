#include "tls/cert_registry.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::tls {

namespace {
const util::Logger kLog("tls");
}

CertRegistry::CertRegistry(CertPublisher& publisher, TlsSettings settings, SniOptions sni)
    : publisher_(publisher), settings_(std::move(settings)), sni_(std::move(sni)) {}

Result<void> CertRegistry::put(const std::string& id, const CertMaterial& material, util::SysTime now) {
  // Validation (parsing, signature checks) happens before the lock: readers of served() and other
  // writers are not held up by it.
  auto entry = CertEntry::create(material, now);
  if (!entry) {
    return util::fail(entry.error());
  }
  std::lock_guard lock(mu_);
  auto next = entries_;
  next[id] = std::move(*entry);
  if (auto r = commit_locked(std::move(next)); !r) {
    return r;
  }
  const CertInfo& info = entries_.at(id)->info();
  std::string names = util::join(info.names, ",");
  if (!info.ip_addresses.empty()) names += "," + util::join(info.ip_addresses, ",");
  kLog.info("certificate loaded", {{"cert", id},
                                   {"names", names},
                                   {"serial", info.serial_hex},
                                   {"not_after", info.not_after_text},
                                   {"source", info.source}});
  return util::ok();
}

Result<void> CertRegistry::put_all(const std::vector<std::pair<std::string, CertMaterial>>& items,
                                   util::SysTime now) {
  std::vector<std::pair<std::string, CertEntryPtr>> built;
  for (const auto& [id, material] : items) {
    auto entry = CertEntry::create(material, now);
    if (!entry) {
      return util::fail(entry.error());
    }
    built.emplace_back(id, std::move(*entry));
  }
  std::lock_guard lock(mu_);
  auto next = entries_;
  for (auto& [id, entry] : built) {
    next[id] = std::move(entry);
  }
  return commit_locked(std::move(next));
}

Result<void> CertRegistry::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto next = entries_;
  if (next.erase(id) == 0) {
    return util::ok();
  }
  if (next.empty()) {
    return util::fail(util::Errc::conflict, "not removing " + id + ": it is the last certificate being served");
  }
  if (auto r = commit_locked(std::move(next)); !r) {
    return r;
  }
  kLog.info("certificate removed", {{"cert", id}});
  return util::ok();
}

std::map<std::string, CertInfo> CertRegistry::served() const {
  std::lock_guard lock(mu_);
  std::map<std::string, CertInfo> out;
  for (const auto& [id, entry] : entries_) {
    out.emplace(id, entry->info());
  }
  return out;
}

Result<void> CertRegistry::commit_locked(std::map<std::string, CertEntryPtr> next) {
  std::vector<CertEntryPtr> list;
  list.reserve(next.size());
  for (const auto& [id, entry] : next) {
    list.push_back(entry);
  }
  auto set = CertSet::build(std::move(list), settings_, sni_);
  if (!set) {
    return util::fail(set.error());
  }
  if ((*set)->default_missing()) {
    kLog.warn("default name not covered by any certificate", {{"default", sni_.default_name}});
  }
  publisher_.publish(std::move(*set));
  entries_ = std::move(next);
  return util::ok();
}

}  // namespace certpilot::tls
