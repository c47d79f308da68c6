#include "util/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "util/log.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace certpilot::util {
namespace {

using SteadyClock = std::chrono::steady_clock;

const Logger kLog("subprocess");

// After the program exits, how long we still read what it printed. Output written before the exit
// is already in the pipe; only a process it left behind (a daemon it started) keeps the pipe open,
// and that must not hold us until the timeout.
constexpr std::chrono::milliseconds kDrainAfterExit{200};
// How often we check whether the program has exited while its pipes stay open; shorter once the
// pipes are closed, when it is normally about to exit and every hook run would wait for the check.
constexpr std::chrono::milliseconds kExitCheckPipesOpen{50};
constexpr std::chrono::milliseconds kExitCheckPipesClosed{5};

// ---- Running children, for the hard exit on a second signal -------------------------------------
// A fixed array of lock-free atomics: the signal handler reads it without locks or allocation.
// Each slot holds (pgid << 8 | signal), 0 when free, in one word so the handler never pairs one
// child's group with another's signal.
constexpr std::size_t kMaxChildren = 64;
std::atomic<std::int64_t> g_children[kMaxChildren];
static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the signal handler needs lock-free atomics");

std::int64_t child_slot_value(pid_t pgid, int sig) { return (static_cast<std::int64_t>(pgid) << 8) | (sig & 0xff); }

bool register_child(pid_t pgid, int sig) {
  const std::int64_t value = child_slot_value(pgid, sig);
  for (auto& slot : g_children) {
    std::int64_t expected = 0;
    if (slot.compare_exchange_strong(expected, value)) return true;
  }
  return false;
}

void unregister_child(pid_t pgid) {
  for (auto& slot : g_children) {
    std::int64_t current = slot.load();
    if (current != 0 && (current >> 8) == pgid && slot.compare_exchange_strong(current, 0)) return;
  }
}

// ---- Spawning ---------------------------------------------------------------------------------

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  bool open(int end) const { return fd[end] >= 0; }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos && extra.count(std::string(entry.substr(0, eq)))) continue;
    env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// The interpreter named by a "#!" first line, "" when the line names none; nullopt when the file
// is not a script (or cannot be read: then the kernel's own error is all we have).
std::optional<std::string> shebang_interpreter(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char head[256];  // the kernel reads no more of the #! line than this (BINPRM_BUF_SIZE)
  const ssize_t n = ::read(fd.get(), head, sizeof head);
  if (n < 2 || head[0] != '#' || head[1] != '!') return std::nullopt;
  const std::string_view line(head + 2, static_cast<std::size_t>(n) - 2);
  const auto start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos || line[start] == '\n') return std::string();
  const auto end = line.find_first_of(" \t\n", start);
  return std::string(line.substr(start, end == std::string_view::npos ? line.size() - start : end - start));
}

// Why a script cannot start because of its #! line, or nullopt when the line is fine (or absent).
std::optional<std::string> interpreter_problem(const std::string& script) {
  const auto interpreter = shebang_interpreter(script);
  if (!interpreter) return std::nullopt;
  if (interpreter->empty()) return "the #! line of " + script + " names no interpreter (e.g. #!/bin/sh)";
  if (interpreter->back() == '\r') {
    // "#!/bin/sh\r": the classic script saved with Windows line endings.
    return "the #! line of " + script + " ends in a carriage return (Windows line endings); convert the file with "
           "dos2unix or sed -i 's/\\r$//'";
  }
  const std::string from = " (from the #! line of " + script + ")";
  struct stat st {};
  if (::stat(interpreter->c_str(), &st) != 0) return "interpreter " + *interpreter + from + " not found";
  if (!S_ISREG(st.st_mode) || ::access(interpreter->c_str(), X_OK) != 0) {
    return "interpreter " + *interpreter + from + " is not an executable file";
  }
  return std::nullopt;
}

// The first executable regular file named `name` in the ':'-separated `search_path` (an empty entry
// is the working directory, as for execvp), or nullopt. `not_executable` gets the first match that
// exists but cannot be run, for the error.
std::optional<std::string> find_in_path(const std::string& name, std::string_view search_path,
                                        std::string* not_executable = nullptr) {
  std::size_t pos = 0;
  for (;;) {
    const auto colon = search_path.find(':', pos);
    const auto dir = search_path.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    const std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (not_executable != nullptr && not_executable->empty()) *not_executable = candidate;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    pos = colon + 1;
  }
}

// "cannot run 'X': why", with a cause the bare errno would hide: "No such file or directory" for a
// file that exists means its #! interpreter (or a binary's loader) is missing; EACCES for a folder.
Error spawn_error(const std::string& program, int rc) {
  std::string why = std::strerror(rc);
  const bool has_slash = program.find('/') != std::string::npos;
  const auto file = has_slash ? std::optional<std::string>(program) : find_in_path(program, program_search_path());
  struct stat st {};
  if (file && ::stat(file->c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      why = "it is a folder, not a program";
    } else if (rc == ENOENT) {
      const auto problem = interpreter_problem(*file);
      why = problem ? *problem
                    : why + ", although the file exists: the program it needs to start (a binary's dynamic loader) is "
                            "missing";
    }
  }
  return Error(Errc::invalid_input, "cannot run '" + program + "': " + why);
}

struct Spawned {
  pid_t pid = -1;
};

Result<Spawned> spawn(const ProcessOptions& options, Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  if (!options.inherit_stderr) posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so a timeout kills the hook's children too; default signal handling.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = build_env(options.env_extra);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Spawned child;
  const int rc = posix_spawnp(&child.pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail(spawn_error(options.argv[0], rc));
  // The child leads its own group (pgid == pid): a second Ctrl-C must reach it (util/cancel).
  if (!register_child(child.pid, options.hard_exit_signal)) {
    kLog.warn("too many programs running at once: a second Ctrl-C will not stop this one",
              {{"program", options.argv[0]}});
  }
  return child;
}

// ---- Running: the I/O loop, deadlines, and the wait ---------------------------------------------

class ChildRun {
 public:
  ChildRun(const ProcessOptions& options, pid_t pid, Pipe& in, Pipe& out, Pipe& err)
      : options_(options), pid_(pid), in_(in), out_(out), err_(err),
        deadline_(SteadyClock::now() + options.timeout), kill_deadline_(deadline_) {
    if (options_.stdin_data.empty()) in_.close_end(1);
    if (in_.open(1)) ::fcntl(in_.fd[1], F_SETFL, O_NONBLOCK);
  }

  ProcessResult run() {
    while (step()) {
    }
    in_.close_end(1);
    if (out_.open(0) || err_.open(0)) {
      kLog.warn("a process the program started still holds its output open after it exited; stopped reading "
                "(redirect that process's output, e.g. >/dev/null 2>&1, to silence this)",
                {{"program", options_.argv[0]}});
    }
    reap();
    return std::move(result_);
  }

 private:
  bool pipes_open() const { return out_.open(0) || err_.open(0); }

  // One round: notice an exit, enforce deadlines, then wait for output (or the next check). False
  // once done: the program exited and its output was read to EOF or for kDrainAfterExit.
  bool step() {
    const auto now = SteadyClock::now();
    if (!exited_at_ && has_exited()) exited_at_ = now;
    if (exited_at_) {
      if (!pipes_open() || now >= *exited_at_ + kDrainAfterExit) return false;
      in_.close_end(1);  // nobody reads it any more
    } else if (!killed_) {
      killed_ = enforce_deadline(now);
    }
    pump(wait_budget(now));
    return true;
  }

  // True once the program has exited, without reaping it: the zombie keeps its pid, and so its
  // process group id, reserved until we have taken it out of the registry. ECHILD (someone else
  // reaped it) counts as exited, or we would wait for it until the timeout.
  bool has_exited() const {
    siginfo_t info{};
    const int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    return (rc == 0 && info.si_pid == pid_) || (rc < 0 && errno == ECHILD);
  }

  // Past the deadline (or asked to stop): SIGTERM to the process group, then SIGKILL 2 s later
  // (stop_grace when asked to stop). True once killed.
  bool enforce_deadline(SteadyClock::time_point now) {
    const bool stop = !term_sent_ && now < deadline_ && options_.should_stop && options_.should_stop();
    if (!term_sent_ && (now >= deadline_ || stop)) {
      (stop ? result_.stopped : result_.timed_out) = true;
      ::kill(-pid_, SIGTERM);
      term_sent_ = true;
      kill_deadline_ = now + (stop ? options_.stop_grace : std::chrono::milliseconds(std::chrono::seconds(2)));
    } else if (term_sent_ && now >= kill_deadline_) {
      ::kill(-pid_, SIGKILL);
      return true;
    }
    return false;
  }

  // How long the next poll may wait: until the next deadline, but short enough to notice an exit
  // (and to poll should_stop) in time.
  std::chrono::milliseconds wait_budget(SteadyClock::time_point now) const {
    const auto until = [&](SteadyClock::time_point t) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(t - now) + std::chrono::milliseconds(1);
    };
    if (exited_at_) return until(*exited_at_ + kDrainAfterExit);
    const auto check = pipes_open() ? kExitCheckPipesOpen : kExitCheckPipesClosed;
    if (killed_) return check;
    return std::max(std::chrono::milliseconds(0), std::min(check, until(term_sent_ ? kill_deadline_ : deadline_)));
  }

  void pump(std::chrono::milliseconds wait) {
    pollfd fds[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out_.open(0)) { idx_out = n; fds[n++] = {out_.fd[0], POLLIN, 0}; }
    if (err_.open(0)) { idx_err = n; fds[n++] = {err_.fd[0], POLLIN, 0}; }
    if (in_.open(1)) { idx_in = n; fds[n++] = {in_.fd[1], POLLOUT, 0}; }
    if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait.count())) <= 0) return;
    drain(fds, idx_out, out_, result_.out);
    drain(fds, idx_err, err_, result_.err);
    if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) feed_stdin();
  }

  void drain(const pollfd* fds, int idx, Pipe& p, std::string& sink) {
    if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
    char buf[8192];
    const ssize_t r = ::read(p.fd[0], buf, sizeof buf);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) return;
      p.close_end(0);
      return;
    }
    if (sink.size() < options_.max_output) {
      sink.append(buf, std::min<std::size_t>(static_cast<std::size_t>(r), options_.max_output - sink.size()));
    }
  }

  void feed_stdin() {
    const std::string& data = options_.stdin_data;
    const ssize_t w = ::write(in_.fd[1], data.data() + written_, data.size() - written_);
    if (w > 0) written_ += static_cast<std::size_t>(w);
    if (w < 0 && errno != EAGAIN && errno != EINTR) in_.close_end(1);
    if (written_ >= data.size()) in_.close_end(1);
  }

  // Out of the registry first, then reaped: until then the pid cannot be reused, so a hard exit
  // never signals a stranger's process group.
  void reap() {
    unregister_child(pid_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
      result_.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result_.signal = WTERMSIG(status);
    }
  }

  const ProcessOptions& options_;
  const pid_t pid_;
  Pipe& in_;
  Pipe& out_;
  Pipe& err_;
  ProcessResult result_;
  std::size_t written_ = 0;
  const SteadyClock::time_point deadline_;
  SteadyClock::time_point kill_deadline_;
  bool term_sent_ = false;
  bool killed_ = false;
  std::optional<SteadyClock::time_point> exited_at_;
};

// A program that exits without reading its stdin must not kill us with SIGPIPE: block it in this
// thread while we write, and swallow one that became pending (EPIPE is handled by the writer).
class BlockSigpipe {
 public:
  BlockSigpipe() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~BlockSigpipe() {
    const timespec zero{0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockSigpipe(const BlockSigpipe&) = delete;
  BlockSigpipe& operator=(const BlockSigpipe&) = delete;

 private:
  sigset_t set_, old_;
};

}  // namespace

void signal_running_children() noexcept {
  for (auto& slot : g_children) {
    const std::int64_t value = slot.load();
    if (value != 0) ::kill(-static_cast<pid_t>(value >> 8), static_cast<int>(value & 0xff));
  }
}

std::string program_search_path() {
  const char* path = std::getenv("PATH");
  // What glibc's posix_spawnp and execvp search when PATH is unset.
  return path != nullptr ? path : "/bin:/usr/bin";
}

Result<std::string> resolve_program(const std::string& program, std::string_view search_path) {
  std::string path = program;
  if (program.find('/') == std::string::npos) {
    std::string not_executable;
    const auto found = find_in_path(program, search_path, &not_executable);
    if (!found && !not_executable.empty()) {
      return fail(Errc::invalid_input, "program '" + program + "' found in PATH as " + not_executable +
                                           " is not executable; chmod +x it, or give the absolute path of another");
    }
    if (!found) {
      return fail(Errc::invalid_input, "program '" + program +
                                           "' not found in PATH; give an absolute path (e.g. /etc/certpilot/hooks/" +
                                           program + ")");
    }
    path = *found;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(Errc::invalid_input, "program '" + path + "' is missing or not executable: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(Errc::invalid_input, "program '" + path + "' is a folder, not a program; give the hook file in it");
  }
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_input, "program '" + path + "' is not a regular file");
  if (::access(path.c_str(), X_OK) != 0) {
    return fail(Errc::invalid_input, "program '" + path + "' is not executable; chmod +x it");
  }
  if (auto problem = interpreter_problem(path)) return fail(Errc::invalid_input, "program '" + path + "': " + *problem);
  // Absolute, so a later chdir or PATH change runs the same file; "./" dropped for readable errors.
  if (path.rfind("./", 0) == 0) path.erase(0, 2);
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.string();
}

Result<ProcessResult> run_process(const ProcessOptions& options) {
  if (options.argv.empty()) return fail(Errc::invalid_input, "run: no program given");
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return fail(Errc::internal, std::string("pipe: ") + std::strerror(errno));
  }
  auto child = spawn(options, in, out, err);
  if (!child) return fail(child.error());
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  if (options.inherit_stderr) err.close_end(0);
  const BlockSigpipe no_sigpipe;
  return ChildRun(options, child->pid, in, out, err).run();
}

}  // namespace certpilot::util
