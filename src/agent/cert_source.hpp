#pragma once
// Agent-side glue between certificate folders on disk and the TLS listener's CertRegistry:
// finding the folders under each --certs argument, reading them, and watching them with inotify
// (including the symlink swaps the store and `certpilot issue --out` do) so a renewed certificate
// is served without a restart. All file I/O happens on the watcher's own thread, never on an
// event loop.
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tls/cert_registry.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

struct CertFolder {
  std::string id;               // registry id: the folder path as given (store: <root>/certificates/<name>)
  std::filesystem::path path;
};

// The certificate folders one --certs argument names:
//  - a folder holding key.pem (as `certpilot issue --out` writes it; it may be a symlink);
//  - a store root (certificates/<name>, hidden ".<name>.versions" entries skipped);
//  - a certificates/ folder itself (every sub-folder holding key.pem).
util::Result<std::vector<CertFolder>> discover_cert_folders(const std::filesystem::path& dir);

// key.pem plus fullchain.pem (or cert.pem followed by chain.pem). Errors name the file.
util::Result<tls::CertMaterial> load_cert_folder(const std::filesystem::path& folder);

class CertWatcher {
 public:
  // `registry` and `clock` must outlive the watcher.
  CertWatcher(tls::CertRegistry& registry, std::vector<std::filesystem::path> roots, const util::Clock& clock);
  ~CertWatcher();
  CertWatcher(const CertWatcher&) = delete;
  CertWatcher& operator=(const CertWatcher&) = delete;

  // Loads every folder once, logging each failure (file and reason). Fails when no certificate at
  // all could be loaded, with the first failure's message.
  util::Result<std::size_t> load_all();
  // Watches the roots on a thread of its own; a change is reloaded 200 ms after the last event
  // (one write of four files is one reload), plus a full rescan every minute in case an event
  // was lost.
  util::Result<void> start();
  void stop();
  // Reloads what changed now; thread-safe. Returns how many certificates were (re)loaded.
  std::size_t rescan();

 private:
  void run();
  void update_watches_locked(const std::vector<std::filesystem::path>& dirs,
                             const std::vector<std::pair<std::filesystem::path, std::string>>& named);

  tls::CertRegistry& registry_;
  const std::vector<std::filesystem::path> roots_;
  const util::Clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::string> loaded_;  // guarded by mu_: id -> material last put (or last failed)
  std::map<int, std::vector<std::string>> watches_;  // guarded by mu_: wd -> names of interest (empty: all)
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace certpilot::agent
