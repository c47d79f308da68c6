#include "store/output_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "store/detail/fs.hpp"
#include "util/log.hpp"

namespace certpilot::store {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("store");

long number_of(const std::string& s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stol(s);
}

fs::path versions_of(const fs::path& dir) { return dir.parent_path() / (dir.filename().string() + ".versions"); }

// "out/", "out/." and "./out" all name the same DIR: absolute, lexically normal, no trailing '/'.
util::Result<fs::path> normalise(const fs::path& dir_in) {
  std::error_code ec;
  fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (ec) return fail(Errc::io, "output folder " + dir_in.string() + ": " + ec.message());
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" -> "out"
  if (!dir.has_filename()) {  // "/"
    return fail(Errc::invalid_input, "output folder " + dir_in.string() +
                                         ": names no folder of its own; give a new folder such as /srv/certs/example");
  }
  return dir;
}

// The version folder a symlink at `dir` names, when it is one inside DIR.versions/: certpilot's own
// relative "DIR.versions/<n>", or one an operator set for a manual rollback, maybe absolute
// ("ln -sfn /srv/a.versions/7 /srv/a"). Compared as canonical folders, so both spellings (and a
// path through a symlinked parent) are recognised. The target itself may be missing (dangling).
std::optional<fs::path> version_target(const fs::path& dir, const fs::path& target) {
  fs::path resolved = (target.is_absolute() ? target : dir.parent_path() / target).lexically_normal();
  if (!resolved.has_filename()) resolved = resolved.parent_path();  // "a.versions/7/"
  std::error_code ec;
  const fs::path parent = fs::weakly_canonical(resolved.parent_path(), ec);
  if (ec) return std::nullopt;
  const fs::path versions = fs::weakly_canonical(versions_of(dir), ec);
  if (ec || parent != versions) return std::nullopt;
  return resolved;
}

// What is at `dir` (normalised): nothing (nullopt), or certpilot's symlink (the version folder it
// names). Anything else is refused without touching it.
util::Result<std::optional<fs::path>> inspect(const fs::path& dir) {
  const std::string base = dir.filename().string();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<fs::path>();
    return fail(Errc::io, "output folder " + dir.string() + ": cannot inspect it: " + std::strerror(errno) +
                              "; fix the path or pick another --out");
  }
  std::error_code ec;
  const fs::path target = S_ISLNK(st.st_mode) ? fs::read_symlink(dir, ec) : fs::path();
  const auto version = S_ISLNK(st.st_mode) && !ec ? version_target(dir, target) : std::nullopt;
  if (!version) {
    const fs::path versions = versions_of(dir);
    return fail(Errc::invalid_input,
                dir.string() + " already exists and was not written by certpilot (" +
                    (S_ISDIR(st.st_mode) ? "a plain folder" : S_ISLNK(st.st_mode) ? "a foreign symlink" : "a file") +
                    "); certpilot makes it a symlink to " + versions.string() +
                    "/<n>/ so a new set replaces the old one atomically. Move it away (or pick another --out) "
                    "and run again");
  }
  return std::optional<fs::path>(*version);
}

// After DIR was switched to `next`: the previous set stays for readers that resolved DIR just
// before the switch; older sets and sets never switched to go. But when DIR named no existing
// version (a manual rollback to a number that is gone, or DIR removed by hand), nothing tells which
// sets are stale: removing all would lose every earlier key and certificate, so the `keep` newest
// stay and the operator is told.
void prune_versions(const fs::path& dir, const std::vector<fs::path>& entries, long current, long next,
                    int keep) {
  std::vector<long> numbers;
  for (const auto& p : entries) {
    if (const long n = number_of(p.filename().string()); n >= 0 && n != next) numbers.push_back(n);
  }
  const bool current_exists = std::find(numbers.begin(), numbers.end(), current) != numbers.end();
  std::sort(numbers.rbegin(), numbers.rend());
  const auto kept = [&](long n) {
    if (current_exists) return n == current;
    const auto rank = std::find(numbers.begin(), numbers.end(), n) - numbers.begin();
    return rank < keep;
  };
  if (!current_exists && !numbers.empty()) {
    kLog.warn("output folder linked to no existing set; kept the newest earlier sets, remove those you do not need",
              {{"path", dir.string()}, {"linked", current < 0 ? std::string("none") : std::to_string(current)},
               {"kept", std::min<std::size_t>(numbers.size(), static_cast<std::size_t>(std::max(keep, 0)))},
               {"versions", versions_of(dir).string()}});
  }
  for (const auto& p : entries) {
    const long n = number_of(p.filename().string());
    if (n >= 0 && n != next && !kept(n)) detail::remove_tree(p);
  }
}

}  // namespace

util::Result<fs::path> check_output_dir(const fs::path& dir_in) {
  auto dir = normalise(dir_in);
  if (!dir) return dir;
  if (auto r = inspect(*dir); !r) return fail(r.error());
  return dir;
}

util::Result<OutputDirHold> OutputDirHold::take(const fs::path& dir_in) {
  auto normalised = normalise(dir_in);
  if (!normalised) return fail(normalised.error());  // names dir_in already
  const fs::path dir = *normalised;
  if (auto r = inspect(dir); !r) return fail(r.error());
  const fs::path versions = versions_of(dir);
  std::error_code ec;
  const bool existed = fs::exists(versions, ec);
  if (auto r = detail::make_dirs(versions); !r) {
    // Errc::io whatever errno said (ENOENT under /proc is no "not found" the user can act on).
    return fail(Errc::io, "output folder " + dir.string() + ": " + r.error().message +
                                    "; fix the path or pick another --out");
  }
  OutputDirHold hold;
  hold.dir_ = dir;
  hold.created_versions_ = !existed;
  auto lock = CertLock::acquire(versions / ".lock", dir.string(), LockWait::no_wait);
  if (!lock) return fail(lock.error());  // ~OutputDirHold removes the folder it just made
  hold.lock_.emplace(std::move(*lock));
  return hold;
}

OutputDirHold::OutputDirHold(OutputDirHold&& other) noexcept
    : dir_(std::move(other.dir_)), lock_(std::move(other.lock_)), created_versions_(other.created_versions_) {
  other.lock_.reset();
  other.created_versions_ = false;
}

OutputDirHold::~OutputDirHold() {
  // A first run that failed leaves no empty DIR.versions/ behind (rmdir fails once a set is in it).
  if (!created_versions_) return;
  const fs::path versions = versions_of(dir_);
  std::error_code ec;
  bool only_lock = true;
  for (const auto& e : fs::directory_iterator(versions, ec)) only_lock = only_lock && e.path().filename() == ".lock";
  if (ec || !only_lock) return;
  ::unlink((versions / ".lock").c_str());
  ::rmdir(versions.c_str());
}

util::Result<void> write_output_dir(const fs::path& dir_in, const crypto::PrivateKey& key,
                                    const crypto::CertificateChain& chain, const std::vector<std::string>& names,
                                    const OutputDirOptions& options) {
  auto hold = OutputDirHold::take(dir_in);
  if (!hold) return fail(hold.error());  // names DIR already
  return write_output_dir(*hold, key, chain, names, options);
}

util::Result<void> write_output_dir(const OutputDirHold& hold, const crypto::PrivateKey& key,
                                    const crypto::CertificateChain& chain, const std::vector<std::string>& names,
                                    const OutputDirOptions& options) {
  const fs::path& dir = hold.dir();
  const std::string ctx = "writing " + dir.string();
  const std::string base = dir.filename().string();
  const fs::path versions = versions_of(dir);

  if (auto r = verify_material(key, chain, names); !r) return fail(r.error().wrapped(ctx));

  // Checked again although the hold checked it before the material was obtained: the folder may
  // have changed meanwhile. The error names dir already: no ctx.
  auto existing = inspect(dir);
  if (!existing) return fail(existing.error());
  const long current = *existing ? number_of((*existing)->filename().string()) : -1;

  long next = current + 1;
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(versions, ec)) entries.push_back(e.path());
  for (const auto& p : entries) {
    const std::string file = p.filename().string();
    if (file.size() > 4 && file.substr(file.size() - 4) == ".tmp") {
      detail::remove_tree(p);  // an interrupted earlier run
    } else {
      next = std::max(next, number_of(file) + 1);
    }
  }
  const auto step = [&](std::string_view name) -> util::Result<void> {
    return options.fault_hook ? options.fault_hook(name) : util::ok();
  };
  const std::string version = std::to_string(next);
  const fs::path tmp = versions / (version + ".tmp");
  const auto write = [&]() -> util::Result<void> {
    if (auto r = detail::make_dir(tmp); !r) return r;
    if (auto r = detail::write_new_file(tmp / "key.pem", key.to_pem(), 0600); !r) return r;
    if (auto r = detail::write_new_file(tmp / "cert.pem", chain.leaf_pem(), 0644); !r) return r;
    if (auto r = detail::write_new_file(tmp / "chain.pem", chain.intermediates_pem(), 0644); !r) return r;
    if (auto r = detail::write_new_file(tmp / "fullchain.pem", chain.full_pem(), 0644); !r) return r;
    return detail::fsync_dir(tmp);
  };
  if (auto r = write(); !r) {
    detail::remove_tree(tmp);  // e.g. a full disk: leave no partial set behind until the next run
    return fail(r.error().wrapped(ctx));
  }
  if (auto r = step("version_written"); !r) return fail(r.error().wrapped(ctx));
  if (::rename(tmp.c_str(), (versions / version).c_str()) != 0) {
    return fail(Errc::io, ctx + ": renaming " + tmp.string());
  }
  if (auto r = detail::fsync_dir(versions); !r) return fail(r.error().wrapped(ctx));
  if (auto r = step("before_swap"); !r) return fail(r.error().wrapped(ctx));
  // Relative target: DIR and DIR.versions can be moved together.
  if (auto r = detail::replace_symlink(dir, fs::path(base + ".versions") / version); !r) {
    return fail(r.error().wrapped(ctx));
  }
  prune_versions(dir, entries, current, next, options.keep_unlinked);
  return util::ok();
}

}  // namespace certpilot::store
