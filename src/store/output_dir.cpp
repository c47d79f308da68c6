#include "store/output_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

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

}  // namespace

util::Result<void> write_output_dir(const fs::path& dir_in, const crypto::PrivateKey& key,
                                    const crypto::CertificateChain& chain, const std::vector<std::string>& names,
                                    const OutputDirOptions& options) {
  fs::path dir = fs::absolute(dir_in).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" -> "out"
  const std::string ctx = "writing " + dir.string();
  const std::string base = dir.filename().string();
  const fs::path versions = dir.parent_path() / (base + ".versions");

  if (auto r = verify_material(key, chain, names); !r) return fail(r.error().wrapped(ctx));

  struct stat st {};
  long current = -1;
  if (::lstat(dir.c_str(), &st) == 0) {
    std::error_code ec;
    const fs::path target = S_ISLNK(st.st_mode) ? fs::read_symlink(dir, ec) : fs::path();
    if (!S_ISLNK(st.st_mode) || ec || target.parent_path() != fs::path(base + ".versions")) {
      return fail(Errc::invalid_input,
                  ctx + ": " + dir.string() + " already exists and was not written by certpilot (" +
                      (S_ISDIR(st.st_mode) ? "a plain folder" : S_ISLNK(st.st_mode) ? "a foreign symlink" : "a file") +
                      "); certpilot makes it a symlink to " + versions.string() +
                      "/<n>/ so a new set replaces the old one atomically. Move it away (or pick another --out) "
                      "and run again");
    }
    current = number_of(target.filename().string());
  }

  if (auto r = detail::make_dirs(versions); !r) return fail(r.error().wrapped(ctx));
  CERTPILOT_TRY(auto lock, CertLock::acquire(versions / ".lock", dir.string(), LockWait::no_wait), ctx);

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
    if (auto r = detail::fsync_dir(tmp); !r) return r;
    return step("version_written");
  };
  if (auto r = write(); !r) return fail(r.error().wrapped(ctx));
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
