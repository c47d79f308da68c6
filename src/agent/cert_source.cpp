#include "agent/cert_source.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "util/log.hpp"

namespace certpilot::agent {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("agent");
constexpr std::uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;

util::Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return fail(Errc::io, p.string() + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

util::Result<std::vector<CertFolder>> discover_cert_folders(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(Errc::not_found, dir.string() + ": not a folder (or a symlink to one)");
  }
  if (is_file(dir / "key.pem")) {
    return std::vector<CertFolder>{{dir.string(), dir}};
  }
  const fs::path base = fs::is_directory(dir / "certificates", ec) ? dir / "certificates" : dir;
  std::vector<CertFolder> out;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.front() == '.' || !is_file(e.path() / "key.pem")) {
      continue;  // ".<name>.versions", temporary entries, unrelated files
    }
    out.push_back({e.path().string(), e.path()});
  }
  if (ec) {
    return fail(Errc::io, base.string() + ": cannot list: " + ec.message());
  }
  std::sort(out.begin(), out.end(), [](const CertFolder& a, const CertFolder& b) { return a.id < b.id; });
  if (out.empty()) {
    return fail(Errc::not_found, dir.string() + ": no certificate found (expected key.pem here, or certificates/<name>/key.pem)");
  }
  return out;
}

util::Result<tls::CertMaterial> load_cert_folder(const fs::path& folder) {
  tls::CertMaterial m;
  m.key_source = (folder / "key.pem").string();
  CERTPILOT_TRY(m.key_pem, read_file(folder / "key.pem"), "loading certificate");
  if (is_file(folder / "fullchain.pem")) {
    m.chain_source = (folder / "fullchain.pem").string();
    CERTPILOT_TRY(m.chain_pem, read_file(folder / "fullchain.pem"), "loading certificate");
  } else {
    m.chain_source = (folder / "cert.pem").string();
    CERTPILOT_TRY(m.chain_pem, read_file(folder / "cert.pem"), "loading certificate");
    if (is_file(folder / "chain.pem")) {
      CERTPILOT_TRY(std::string chain, read_file(folder / "chain.pem"), "loading certificate");
      if (!m.chain_pem.empty() && m.chain_pem.back() != '\n') {
        m.chain_pem.push_back('\n');
      }
      m.chain_pem += chain;
    }
  }
  return m;
}

CertWatcher::CertWatcher(tls::CertRegistry& registry, std::vector<fs::path> roots, const util::Clock& clock)
    : registry_(registry), roots_(std::move(roots)), clock_(clock) {}

CertWatcher::~CertWatcher() {
  stop();
  for (int fd : {inotify_fd_, wake_fd_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

util::Result<std::size_t> CertWatcher::load_all() {
  std::optional<util::Error> first_error;
  for (const auto& root : roots_) {
    auto folders = discover_cert_folders(root);
    if (!folders) {
      kLog.error("certificate folder unusable", {{"error", folders.error().message}});
      first_error = first_error.value_or(folders.error());
      continue;
    }
    for (const auto& f : *folders) {
      auto material = load_cert_folder(f.path);
      auto r = material ? registry_.put(f.id, *material, clock_.now()) : util::Result<void>(fail(material.error()));
      std::lock_guard lock(mu_);
      if (!r) {
        kLog.error("certificate not loaded", {{"cert", f.id}, {"error", r.error().message}});
        first_error = first_error.value_or(r.error());
        loaded_[f.id] = "";  // a later change is retried
      } else {
        loaded_[f.id] = material->key_pem + material->chain_pem;
      }
    }
  }
  const auto served = registry_.served().size();
  if (served == 0) {
    return fail(first_error.value_or(util::Error(Errc::not_found, "no certificate to serve")));
  }
  return served;
}

std::size_t CertWatcher::rescan() {
  std::lock_guard lock(mu_);
  std::size_t changed = 0;
  std::set<std::string> seen;
  std::vector<fs::path> dirs;
  std::vector<std::pair<fs::path, std::string>> named;  // (parent, name): only that entry matters
  for (const auto& root : roots_) {
    // The root itself may be a symlink swapped by rename: its parent sees that.
    named.emplace_back(root.parent_path().empty() ? fs::path(".") : root.parent_path(), root.filename().string());
    dirs.push_back(root);
    std::error_code ec;
    if (fs::is_directory(root / "certificates", ec)) {
      dirs.push_back(root / "certificates");
    }
    auto folders = discover_cert_folders(root);
    if (!folders) {
      continue;  // e.g. mid-swap; what is served stays; the next event retries
    }
    for (const auto& f : *folders) {
      seen.insert(f.id);
      if (f.path != root) {
        dirs.push_back(f.path);
      }
      auto material = load_cert_folder(f.path);
      const std::string content = material ? material->key_pem + material->chain_pem : std::string();
      auto it = loaded_.find(f.id);
      if (material && it != loaded_.end() && it->second == content) {
        continue;
      }
      auto r = material ? registry_.put(f.id, *material, clock_.now()) : util::Result<void>(fail(material.error()));
      if (!r) {
        // The previous version of this certificate keeps being served.
        if (it == loaded_.end() || it->second != content || content.empty()) {
          kLog.error("certificate not reloaded, still serving the previous one",
                     {{"cert", f.id}, {"error", r.error().message}});
        }
        loaded_[f.id] = content;
        continue;
      }
      loaded_[f.id] = content;
      ++changed;
    }
  }
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    if (seen.count(it->first) == 0) {
      if (auto r = registry_.remove(it->first); !r) {
        kLog.warn("certificate folder gone, still serving it", {{"cert", it->first}, {"error", r.error().message}});
        ++it;
        continue;
      }
      it = loaded_.erase(it);
    } else {
      ++it;
    }
  }
  if (inotify_fd_ >= 0) {
    update_watches_locked(dirs, named);
  }
  return changed;
}

void CertWatcher::update_watches_locked(const std::vector<fs::path>& dirs,
                                        const std::vector<std::pair<fs::path, std::string>>& named) {
  // inotify_add_watch follows symlinks and returns the existing wd for an inode already watched,
  // so re-adding every path finds the new targets after a swap; wds not returned now are stale.
  std::map<int, std::vector<std::string>> next;
  for (const auto& d : dirs) {
    const int wd = inotify_add_watch(inotify_fd_, d.c_str(), kWatchMask);
    if (wd >= 0) {
      next[wd].clear();
      next[wd].push_back("");  // "" marks "every name"
    }
  }
  for (const auto& [parent, name] : named) {
    const int wd = inotify_add_watch(inotify_fd_, parent.c_str(), kWatchMask);
    if (wd >= 0) {
      next[wd].push_back(name);
    }
  }
  for (const auto& [wd, names] : watches_) {
    if (next.count(wd) == 0) {
      inotify_rm_watch(inotify_fd_, wd);
    }
  }
  watches_ = std::move(next);
}

util::Result<void> CertWatcher::start() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0 || wake_fd_ < 0) {
    return fail(Errc::io, std::string("watching certificate folders: ") + std::strerror(errno));
  }
  rescan();  // installs the watches
  thread_ = std::thread([this] { run(); });
  return util::ok();
}

void CertWatcher::stop() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void CertWatcher::run() {
  using namespace std::chrono;
  bool pending = false;
  auto next_full = steady_clock::now() + minutes(1);
  alignas(inotify_event) char buf[8192];
  while (!stop_.load()) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, pending ? 200 : 1000);
    if (stop_.load()) {
      break;
    }
    bool relevant = false;
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      ssize_t len;
      while ((len = ::read(inotify_fd_, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mu_);
        for (char* p = buf; p < buf + len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(p);
          const std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
          auto it = watches_.find(ev->wd);
          if (it != watches_.end()) {
            for (const auto& want : it->second) {
              relevant = relevant || want.empty() || want == name;
            }
          }
          p += sizeof(inotify_event) + ev->len;
        }
      }
    }
    if (relevant) {
      pending = true;  // wait for 200 ms of quiet: the writer may not be done
      continue;
    }
    if (pending || steady_clock::now() >= next_full) {
      pending = false;
      next_full = steady_clock::now() + minutes(1);
      rescan();
    }
  }
}

}  // namespace certpilot::agent
