#include "store/output_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "store/detail/fs.hpp"

namespace certpilot::store {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

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

// What is at `dir` (normalised): nothing (nullopt), or certpilot's symlink (its target). Anything
// else is refused without touching it.
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
  if (!S_ISLNK(st.st_mode) || ec || target.parent_path() != fs::path(base + ".versions")) {
    const fs::path versions = dir.parent_path() / (base + ".versions");
    return fail(Errc::invalid_input,
                dir.string() + " already exists and was not written by certpilot (" +
                    (S_ISDIR(st.st_mode) ? "a plain folder" : S_ISLNK(st.st_mode) ? "a foreign symlink" : "a file") +
                    "); certpilot makes it a symlink to " + versions.string() +
                    "/<n>/ so a new set replaces the old one atomically. Move it away (or pick another --out) "
                    "and run again");
  }
  return std::optional<fs::path>(target);
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
  // Keep the new and the previous set; remove older ones and sets never switched to.
  for (const auto& p : entries) {
    const long n = number_of(p.filename().string());
    if (n >= 0 && n != current) detail::remove_tree(p);
  }
  return util::ok();
}

}  // namespace certpilot::store
