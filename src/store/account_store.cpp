// Accounts: accounts/<ca-host>/<account-id>/{account.json, key.pem}.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "store/detail/fs.hpp"
#include "store/store.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace certpilot::store {

namespace fs = std::filesystem;
using nlohmann::json;
using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("store");

std::string sanitize(std::string_view s, bool keep_case) {
  std::string out;
  for (char c : s) {
    const char l = keep_case ? c : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const bool ok = (l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z') || (l >= '0' && l <= '9') || l == '.' ||
                    l == '-' || (keep_case && l == '_');
    out += ok ? l : '_';
  }
  // Never "." or "..", never hidden.
  while (!out.empty() && out.front() == '.') out.front() = '_';
  return out;
}

// The last non-empty path segment of the account URL ("https://ca/acme/acct/12345" -> "12345").
std::string id_from_url(std::string_view url) {
  std::string_view path = url;
  if (auto q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  std::string id = sanitize(slash == std::string_view::npos ? path : path.substr(slash + 1), true);
  if (id.empty() || id.size() > 64) id = util::hex_encode(crypto::sha256(url)).substr(0, 16);
  return id;
}

std::string record_to_json(const AccountRecord& r) {
  json j = json::object();
  j["id"] = r.id;
  j["url"] = r.url;
  j["directory_url"] = r.directory_url;
  j["contact"] = r.contact;
  if (r.created) j["created"] = util::format_rfc3339(*r.created);
  return j.dump(2) + "\n";
}

Result<AccountRecord> record_from_json(const std::string& text, const fs::path& file) {
  const json j = json::parse(text, nullptr, false);
  const auto bad = [&](const std::string& why) { return fail(Errc::invalid_input, file.string() + ": " + why); };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  AccountRecord r;
  for (auto [key, dst] : {std::pair{"id", &r.id}, {"url", &r.url}, {"directory_url", &r.directory_url}}) {
    if (!j.contains(key) || !j[key].is_string()) return bad(std::string("\"") + key + "\" missing or not a string");
    *dst = j[key].get<std::string>();
  }
  if (j.contains("contact")) {
    if (!j["contact"].is_array()) return bad("\"contact\" is not an array");
    for (const auto& c : j["contact"]) {
      if (!c.is_string()) return bad("\"contact\" holds a non-string");
      r.contact.push_back(c.get<std::string>());
    }
  }
  if (j.contains("created") && j["created"].is_string()) r.created = util::parse_rfc3339(j["created"].get<std::string>());
  return r;
}

Result<AccountRecord> load_record(const fs::path& dir) {
  CERTPILOT_TRY(const std::string text, detail::read_file(dir / "account.json"), "loading account");
  CERTPILOT_TRY(auto record, record_from_json(text, dir / "account.json"), "loading account");
  return record;
}

Result<StoredAccount> load_with_key(AccountRecord record, const fs::path& dir) {
  CERTPILOT_TRY(auto key, crypto::PrivateKey::load((dir / "key.pem").string()), "loading account key");
  return StoredAccount{std::move(record), std::move(key), dir};
}

Result<StoredAccount> load_from(const fs::path& dir) {
  auto record = load_record(dir);
  if (!record) return fail(record.error());
  return load_with_key(std::move(*record), dir);
}

// The account in dir when it belongs to directory_url, nullopt when it belongs to another CA. One
// host may serve several directories (Pebble, staging paths): the URL must match exactly. Only a
// match's key is loaded, so another CA's account cannot stand in the way.
Result<std::optional<StoredAccount>> load_if_for(const fs::path& dir, std::string_view directory_url) {
  auto record = load_record(dir);
  if (!record) return fail(record.error());
  if (record->directory_url != directory_url) return std::optional<StoredAccount>();
  auto account = load_with_key(std::move(*record), dir);
  if (!account) return fail(account.error());
  return std::optional<StoredAccount>(std::move(*account));
}

// A folder under accounts/<ca-host>/ that holds no account.json is not an account certpilot wrote
// (save_account renames a complete folder into place): a stray `mkdir`, a copy left by hand.
bool lacks_account_json(const fs::path& dir) {
  struct stat st {};
  return ::lstat((dir / "account.json").c_str(), &st) != 0 && errno == ENOENT;
}

void warn_skipped(const fs::path& dir, const util::Error& why) {
  if (lacks_account_json(dir)) {
    kLog.warn("skipping a folder without account.json; remove it if it is not an account you keep",
              {{"path", dir.string()}});
  } else {
    kLog.warn("skipping an account that does not load; repair it or move it out of accounts/",
              {{"path", dir.string()}, {"error", why.message}});
  }
}

std::vector<fs::path> subdirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && e.path().filename().string().front() != '.') out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::string> ca_host_folder(std::string_view url) {
  std::string_view rest = url;
  const auto scheme = rest.find("://");
  if (scheme == std::string_view::npos) {
    return fail(Errc::invalid_input, "CA directory URL \"" + util::printable_excerpt(url, 200) + "\" has no scheme");
  }
  rest.remove_prefix(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);  // userinfo
  std::string host = sanitize(rest, false);
  if (host.empty()) {
    return fail(Errc::invalid_input, "CA directory URL \"" + util::printable_excerpt(url, 200) + "\" has no host");
  }
  return host;
}

void Store::clean_account_leftovers() const {
  // Temp folders are ".<id>.tmp-<pid>": remove those whose writer is gone (no clock needed).
  for (const auto& host : subdirs(options_.root / "accounts")) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(host, ec)) {
      const std::string file = e.path().filename().string();
      const auto pos = file.rfind(".tmp-");
      if (file.front() != '.' || pos == std::string::npos) continue;
      const int pid = std::atoi(file.c_str() + pos + 5);
      if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) detail::remove_tree(e.path());
    }
  }
}

Result<AccountRecord> Store::save_account(AccountRecord record, const crypto::PrivateKey& key) const {
  if (record.url.empty()) return fail(Errc::invalid_input, "saving account: no account URL");
  CERTPILOT_TRY(const std::string host, ca_host_folder(record.directory_url), "saving account");
  if (record.id.empty()) record.id = id_from_url(record.url);
  record.id = sanitize(record.id, true);
  const std::string ctx = "saving account " + record.url;
  const fs::path host_dir = options_.root / "accounts" / host;
  if (auto r = detail::make_dir(host_dir); !r) return fail(r.error().wrapped(ctx));
  const fs::path dir = host_dir / record.id;
  const fs::path tmp = host_dir / ("." + record.id + ".tmp-" + std::to_string(::getpid()));
  detail::remove_tree(tmp);
  const auto write = [&]() -> Result<void> {
    if (auto r = detail::make_dir(tmp); !r) return r;
    if (auto r = detail::write_new_file(tmp / "key.pem", key.to_pem(), 0600); !r) return r;
    if (auto r = detail::write_new_file(tmp / "account.json", record_to_json(record), 0600); !r) return r;
    return detail::fsync_dir(tmp);
  };
  if (auto r = write(); !r) {
    detail::remove_tree(tmp);  // e.g. a full disk: leave no partial account behind
    return fail(r.error().wrapped(ctx));
  }
  if (auto r = step("account_written"); !r) return fail(r.error().wrapped(ctx));
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      return fail(Errc::io, ctx + ": renaming into " + dir.string() + ": " + std::strerror(errno));
    }
  } else {
    // rename(2) cannot replace a non-empty folder; RENAME_EXCHANGE swaps both in one step, then the
    // old content (now in tmp) is removed.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
      return fail(Errc::io, ctx + ": exchanging " + dir.string() + ": " + std::strerror(errno));
    }
    detail::remove_tree(tmp);
  }
  if (auto r = detail::fsync_dir(host_dir); !r) return fail(r.error().wrapped(ctx));
  return record;
}

Result<StoredAccount> Store::load_account(std::string_view directory_url, std::string_view id) const {
  CERTPILOT_TRY(const std::string host, ca_host_folder(directory_url), "loading account");
  const std::string clean = sanitize(id, true);
  if (clean.empty() || clean != id) return fail(Errc::invalid_input, "loading account: bad account id");
  return load_from(options_.root / "accounts" / host / clean);
}

// What an operator expects when a folder under accounts/<ca-host>/ does not load:
// - no account.json (a stray folder): it is no account; skip it with a warning, so one `mkdir` does
//   not stop every command.
// - an account.json (or its key.pem) that exists but cannot be read or parsed: skip it too, so a
//   valid account beside it is still used. But when no valid account matches, that broken one may
//   be *the* account for this CA (its directory URL cannot be read to tell): registering a second
//   account silently would leave two accounts and hide the broken one, so the error names it
//   instead (Errc::io: a local file to repair or move away).
Result<std::optional<StoredAccount>> Store::find_account(std::string_view directory_url) const {
  CERTPILOT_TRY(const std::string host, ca_host_folder(directory_url), "finding account");
  std::optional<StoredAccount> best;
  std::optional<util::Error> broken;  // the first account that exists but does not load
  for (const auto& dir : subdirs(options_.root / "accounts" / host)) {
    auto account = load_if_for(dir, directory_url);
    if (!account) {
      warn_skipped(dir, account.error());
      if (!broken && !lacks_account_json(dir)) broken = account.error();
      continue;
    }
    if (!*account) continue;
    if (!best || (*account)->record.created.value_or(SysTime{}) > best->record.created.value_or(SysTime{})) {
      best = std::move(**account);
    }
  }
  if (!best && broken) {
    return fail(Errc::io, "finding account for " + std::string(directory_url) + ": " + broken->message +
                              "; repair that account, or move its folder out of " +
                              (options_.root / "accounts" / host).string() + " to register a new one");
  }
  return best;
}

Result<std::vector<AccountRecord>> Store::list_accounts() const {
  // Skips what find_account skips, so a listing shows every account a command could use.
  std::vector<AccountRecord> out;
  for (const auto& host : subdirs(options_.root / "accounts")) {
    for (const auto& dir : subdirs(host)) {
      auto record = load_record(dir);
      if (!record) {
        warn_skipped(dir, record.error());
        continue;
      }
      out.push_back(std::move(*record));
    }
  }
  return out;
}

}  // namespace certpilot::store
