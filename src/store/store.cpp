#include "store/store.hpp"

#include <unistd.h>

#include <algorithm>

#include "store/detail/fs.hpp"
#include "util/dirs.hpp"
#include "util/log.hpp"

namespace certpilot::store {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("store");

fs::path versions_dir(const fs::path& root, std::string_view name) {
  return root / "certificates" / ("." + std::string(name) + ".versions");
}

// "7" -> 7; anything else -> -1.
long version_number(const std::string& s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stol(s);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The version number the <name> symlink points to, -1 when there is none.
long current_version(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec) return -1;
  return version_number(target.filename().string());
}

fs::file_time_type meta_mtime(const fs::path& dir) {
  std::error_code ec;
  auto t = fs::last_write_time(dir / "meta.json", ec);
  if (ec) t = fs::last_write_time(dir, ec);
  return ec ? fs::file_time_type::min() : t;
}

}  // namespace

fs::path Store::certificate_path(std::string_view name) const { return options_.root / "certificates" / name; }

Result<void> Store::step(std::string_view name) const {
  if (options_.fault_hook) return options_.fault_hook(name);
  return util::ok();
}

Result<Store> Store::open(StoreOptions options) {
  // Only --state can be empty here: the config file refuses an empty [storage] dir. An empty root
  // would otherwise become the working directory.
  if (options.root.empty()) {
    return fail(Errc::invalid_input, "--state is empty; give a folder, e.g. /var/lib/certpilot");
  }
  if (options.archive_keep < 0) return fail(Errc::invalid_input, "store: archive_keep must be 0 or more");
  options.root = fs::absolute(options.root);
  // The root may be the operator's own folder (--state ~/certs): created 0700 if missing, never
  // chmod'ed if it exists. What certpilot keeps in it lives in folders it owns, forced to 0700.
  if (auto r = util::make_missing_dirs(options.root, 0700); !r) return fail(r.error().wrapped("opening store"));
  for (const char* sub : {"certificates", "accounts", "locks"}) {
    if (auto r = detail::make_dirs(options.root / sub); !r) return fail(r.error().wrapped("opening store"));
  }
  Store store(std::move(options));
  // Certificate leftovers are cleaned by the next lock holder (Store::lock), not here: opening the
  // store must not take locks, or a reader such as `certpilot status` makes the daemon's job for
  // that certificate find it busy and wait a minute.
  store.clean_account_leftovers();
  return store;
}

void Store::clean_leftovers(const std::string& name) const {
  const fs::path link = certificate_path(name);
  const fs::path versions = versions_dir(options_.root, name);
  fs::path link_tmp = link;
  link_tmp += ".link-tmp";
  ::unlink(link_tmp.c_str());
  const long current = current_version(link);
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(versions, ec)) entries.push_back(entry.path());
  for (const auto& path : entries) {
    const std::string file = path.filename().string();
    const long n = version_number(file);
    if (ends_with(file, ".tmp")) {
      kLog.info("removing an interrupted write", {{"cert", name}, {"path", path.string()}});
      detail::remove_tree(path);
    } else if (n >= 0 && n != current) {
      if (current < 0 || n > current) {
        // Written but never switched to: the old version stays, as if the write never happened.
        kLog.info("removing a version that was never switched to", {{"cert", name}, {"path", path.string()}});
        detail::remove_tree(path);
      } else if (auto r = archive_version(versions, path); !r) {
        // Switched away from but not archived before a crash: finish the job.
        kLog.warn("could not archive an old version", {{"cert", name}, {"error", r.error().message}});
      }
    }
  }
  if (current >= 0) {
    ::unlink((versions / std::to_string(current) / "meta.json.tmp").c_str());
  }
  prune_archive(versions);
}

Result<CertLock> Store::lock_accounts() const {
  // A leading '.' cannot collide with a certificate's lock: certificate names never start with one.
  return CertLock::acquire(options_.root / "locks" / ".accounts.lock", "accounts", LockWait::wait);
}

Result<CertLock> Store::lock(std::string_view name, LockWait wait) const {
  if (auto r = validate_certificate_name(name); !r) return fail(r.error());
  auto held = CertLock::acquire(options_.root / "locks" / (std::string(name) + ".lock"), std::string(name), wait);
  if (!held) return held;
  // Only the lock holder may write versions, so this is the one safe moment to finish a crashed write.
  clean_leftovers(std::string(name));
  return held;
}

Result<void> Store::save_certificate(const CertLock& lock, const crypto::PrivateKey& key,
                                     const crypto::CertificateChain& chain, CertificateMeta meta) const {
  const std::string& name = lock.name();
  const std::string ctx = "saving certificate \"" + name + "\"";
  if (auto r = verify_material(key, chain, meta.domains); !r) return fail(r.error().wrapped(ctx));
  const auto& leaf = chain.leaf();
  meta.name = name;
  meta.serial = leaf.serial_hex();
  meta.not_before = leaf.not_before();
  meta.not_after = leaf.not_after();
  meta.key_type = std::string(crypto::to_string(key.type()));

  const fs::path link = certificate_path(name);
  const fs::path versions = versions_dir(options_.root, name);
  if (auto r = detail::make_dir(versions); !r) return fail(r.error().wrapped(ctx));
  if (auto r = detail::make_dir(versions / "archive"); !r) return fail(r.error().wrapped(ctx));

  long next = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions, ec)) {
    next = std::max(next, version_number(entry.path().filename().string()) + 1);
  }
  const std::string version = std::to_string(next);
  const fs::path tmp = versions / (version + ".tmp");
  detail::remove_tree(tmp);
  // 1. Write every file of the new version into a temp folder, fsync'ed.
  const auto write_version = [&]() -> Result<void> {
    if (auto r = detail::make_dir(tmp); !r) return r;
    struct File {
      const char* file;
      std::string data;
      mode_t mode;
    };
    const File files[] = {{"key.pem", key.to_pem(), 0600},
                          {"cert.pem", chain.leaf_pem(), 0644},
                          {"chain.pem", chain.intermediates_pem(), 0644},
                          {"fullchain.pem", chain.full_pem(), 0644},
                          // 0600 like key.pem: last_error holds server text (see write_meta).
                          {"meta.json", meta_to_json(meta), 0600}};
    for (const auto& f : files) {
      if (auto r = detail::write_new_file(tmp / f.file, f.data, f.mode); !r) return r;
    }
    if (::symlink("../archive", (tmp / "archive").c_str()) != 0) {
      return fail(Errc::io, "creating " + (tmp / "archive").string() + " symlink");
    }
    return detail::fsync_dir(tmp);
  };
  if (auto r = write_version(); !r) {
    detail::remove_tree(tmp);  // e.g. a full disk: leave no partial version behind until the next run
    return fail(r.error().wrapped(ctx));
  }
  if (auto r = step("version_written"); !r) return fail(r.error().wrapped(ctx));
  // 2. Give it its final name (rename of a folder onto a fresh name is atomic).
  const fs::path final_dir = versions / version;
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    return fail(Errc::io, ctx + ": renaming " + tmp.string() + " to " + final_dir.string());
  }
  if (auto r = detail::fsync_dir(versions); !r) return fail(r.error().wrapped(ctx));
  if (auto r = step("before_swap"); !r) return fail(r.error().wrapped(ctx));
  // 3. The switch: one rename(2) of a symlink. Before it, readers see the old set; after, the new.
  const long old = current_version(link);
  if (auto r = detail::replace_symlink(link, fs::path("." + name + ".versions") / version); !r) {
    return fail(r.error().wrapped(ctx));
  }
  if (auto r = step("after_swap"); !r) return fail(r.error().wrapped(ctx));
  // 4. Housekeeping; a crash here is finished by clean_leftovers().
  if (old >= 0) {
    if (auto r = archive_version(versions, versions / std::to_string(old)); !r) {
      kLog.warn("could not archive the previous version", {{"cert", name}, {"error", r.error().message}});
    }
  }
  ::unlink((versions / "state.json").c_str());
  prune_archive(versions);
  kLog.info("certificate saved", {{"cert", name}, {"serial", meta.serial}, {"version", version}});
  return util::ok();
}

Result<void> Store::archive_version(const fs::path& versions, const fs::path& old) const {
  std::string serial = old.filename().string();
  if (auto text = detail::read_file(old / "meta.json")) {
    if (auto m = meta_from_json(*text); m && !m->serial.empty()) serial = m->serial;
  }
  fs::path dest = versions / "archive" / serial;
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    dest += "-" + old.filename().string();
  }
  ::unlink((old / "archive").c_str());  // would dangle inside archive/
  if (::rename(old.c_str(), dest.c_str()) != 0) {
    return fail(Errc::io, "archiving " + old.string() + " to " + dest.string());
  }
  if (auto r = detail::fsync_dir(versions / "archive"); !r) return r;
  return detail::fsync_dir(versions);
}

void Store::prune_archive(const fs::path& versions) const {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions / "archive", ec)) {
    entries.emplace_back(meta_mtime(entry.path()), entry.path());
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = static_cast<std::size_t>(options_.archive_keep); i < entries.size(); ++i) {
    detail::remove_tree(entries[i].second);
  }
}

Result<std::optional<StoredCertificate>> Store::load_certificate(std::string_view name) const {
  if (auto r = validate_certificate_name(name); !r) return fail(r.error());
  const std::string ctx = "loading certificate \"" + std::string(name) + "\"";
  std::error_code ec;
  // Resolve once: every file is then read from the same version, even if a swap happens meanwhile.
  const fs::path dir = fs::canonical(certificate_path(name), ec);
  if (ec) return std::optional<StoredCertificate>();
  CERTPILOT_TRY(const std::string key_pem, detail::read_file(dir / "key.pem"), ctx);
  CERTPILOT_TRY(const std::string chain_pem, detail::read_file(dir / "fullchain.pem"), ctx);
  CERTPILOT_TRY(const std::string meta_text, detail::read_file(dir / "meta.json"), ctx);
  CERTPILOT_TRY(auto key, crypto::PrivateKey::from_pem(key_pem), ctx + ": " + (dir / "key.pem").string());
  CERTPILOT_TRY(auto chain, crypto::CertificateChain::from_pem(chain_pem), ctx + ": " + (dir / "fullchain.pem").string());
  CERTPILOT_TRY(auto meta, meta_from_json(meta_text), ctx + ": " + (dir / "meta.json").string());
  return std::optional<StoredCertificate>(StoredCertificate{dir, std::move(key), std::move(chain), std::move(meta)});
}

Result<std::optional<CertificateMeta>> Store::read_meta(std::string_view name) const {
  if (auto r = validate_certificate_name(name); !r) return fail(r.error());
  std::error_code ec;
  const fs::path dir = fs::canonical(certificate_path(name), ec);
  const fs::path file = ec ? versions_dir(options_.root, name) / "state.json" : dir / "meta.json";
  auto text = detail::read_file(file);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<CertificateMeta>();
    return fail(text.error());
  }
  CERTPILOT_TRY(auto meta, meta_from_json(*text), file.string());
  return std::optional<CertificateMeta>(std::move(meta));
}

Result<void> Store::write_meta(const CertLock& lock, const CertificateMeta& meta) const {
  const std::string ctx = "updating meta of \"" + lock.name() + "\"";
  std::error_code ec;
  const fs::path dir = fs::canonical(certificate_path(lock.name()), ec);
  CertificateMeta copy = meta;
  copy.name = lock.name();
  // 0600, like key.pem: last_error quotes what a CA or DNS API answered, which is not for other
  // local users even after the providers' redaction (the store folders are 0700 too).
  if (!ec) {
    if (auto r = detail::replace_file(dir / "meta.json", meta_to_json(copy), 0600); !r) return fail(r.error().wrapped(ctx));
    return util::ok();
  }
  const fs::path versions = versions_dir(options_.root, lock.name());
  if (auto r = detail::make_dir(versions); !r) return fail(r.error().wrapped(ctx));
  if (auto r = detail::replace_file(versions / "state.json", meta_to_json(copy), 0600); !r) {
    return fail(r.error().wrapped(ctx));
  }
  return util::ok();
}

Result<std::vector<std::string>> Store::list_certificates() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.root / "certificates", ec)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_symlink(ec) && validate_certificate_name(file)) names.push_back(file);
  }
  if (ec) return fail(Errc::io, "listing " + (options_.root / "certificates").string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> Store::list_archive(std::string_view name) const {
  if (auto r = validate_certificate_name(name); !r) return fail(r.error());
  std::vector<std::pair<fs::file_time_type, std::string>> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions_dir(options_.root, name) / "archive", ec)) {
    entries.emplace_back(meta_mtime(entry.path()), entry.path().filename().string());
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& e : entries) out.push_back(std::move(e.second));
  return out;
}

}  // namespace certpilot::store
