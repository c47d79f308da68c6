#include "agent/issue.hpp"

#include <algorithm>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "agent/obtain.hpp"
#include "store/output_dir.hpp"
#include "store/store.hpp"
#include "util/dirs.hpp"
#include "util/domain_name.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

namespace {
const util::Logger kLog("agent");

// Fails early, before any order exists, when --out could not be written: something certpilot did
// not write is at DIR (store::check_output_dir), DIR's parent or DIR.versions/ cannot be created or
// written, or another certpilot holds DIR. Creates missing parents 0700 (under any umask: they
// lead to a private key); DIR itself and parents that exist are left alone. The hold lasts the
// whole run; write_output_dir checks DIR again when writing.
util::Result<store::OutputDirHold> hold_output(const std::string& out_dir) {
  auto dir = store::check_output_dir(out_dir);
  if (!dir) return util::fail(dir.error());
  const std::filesystem::path parent = dir->parent_path();  // "a/newdir/" -> "a", never "a/newdir"
  if (auto r = util::make_missing_dirs(parent, 0700); !r) {
    return util::fail(util::Errc::io, "cannot create the output folder's parent " + parent.string() + ": " +
                                          r.error().message);
  }
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return util::fail(util::Errc::io, "the output folder's parent " + parent.string() +
                                          " is not writable; choose another --out or fix its permissions");
  }
  return store::OutputDirHold::take(*dir);
}

}  // namespace

util::Result<std::vector<std::string>> normalize_domains(const std::vector<std::string>& domains) {
  if (domains.empty()) return util::fail(util::Errc::invalid_input, "no domain given; pass -d NAME (repeatable)");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : domains) {
    CERTPILOT_TRY(auto name, util::normalize_domain(d), "-d");
    CERTPILOT_TRY_VOID(util::check_dns01_name_length(name), "-d");
    if (seen.insert(name).second) out.push_back(std::move(name));
  }
  if (out.size() > 100) {
    return util::fail(util::Errc::invalid_input, std::to_string(out.size()) +
                                                     " names in one certificate; CAs allow at most 100 (split them)");
  }
  return out;
}

util::Result<IssueOutcome> run_issue(const IssueOptions& options) {
  CERTPILOT_TRY(auto names, normalize_domains(options.domains), "issue");
  if (options.out_dir.empty() && options.cert_name.empty()) {
    return util::fail(util::Errc::invalid_input, "say where the certificate goes: --out DIR or --name NAME (store)");
  }
  if (!options.out_dir.empty() && !options.cert_name.empty()) {
    return util::fail(util::Errc::invalid_input, "--out and --name both given; choose one place for the certificate");
  }
  std::optional<store::OutputDirHold> out_hold;
  if (!options.out_dir.empty()) {
    auto held = hold_output(options.out_dir);
    if (!held) return util::fail(held.error().wrapped("--out"));
    out_hold.emplace(std::move(*held));
  }
  if (!options.cert_name.empty()) CERTPILOT_TRY_VOID(store::validate_certificate_name(options.cert_name), "--name");
  store::StoreOptions store_options;
  store_options.root = options.state_dir;
  CERTPILOT_TRY(auto store, store::Store::open(store_options), "state folder " + options.state_dir);
  std::optional<store::CertLock> lock;
  if (!options.cert_name.empty()) {
    CERTPILOT_TRY(lock, store.lock(options.cert_name, store::LockWait::no_wait), "issue");
  }
  ObtainRequest request{names, options.key_type, options.ca, options.dns, std::nullopt};
  CERTPILOT_TRY(auto obtained, obtain(request, store), "issue");
  const auto& cert_key = obtained.key;
  const auto& issued = obtained.issued;

  IssueOutcome outcome{issued.chain, {}, names};
  if (!options.out_dir.empty()) {
    // Its errors name DIR already ("writing DIR: …").
    if (auto r = store::write_output_dir(*out_hold, cert_key, issued.chain, names); !r) {
      return util::fail(r.error());
    }
    outcome.written_to = options.out_dir;
  } else {
    const auto meta = fresh_meta(options.cert_name, request, obtained, std::chrono::system_clock::now(), std::nullopt);
    CERTPILOT_TRY_VOID(store.save_certificate(*lock, cert_key, issued.chain, meta), "saving " + options.cert_name);
    outcome.written_to = store.certificate_path(options.cert_name).string();
  }
  kLog.info("certificate written", {{"dir", outcome.written_to}, {"serial", issued.chain.leaf().serial_hex()}});
  return outcome;
}

}  // namespace certpilot::agent
