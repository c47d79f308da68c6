#include "util/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace certpilot::util {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
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

}  // namespace

Result<ProcessResult> run_process(const ProcessOptions& options) {
  if (options.argv.empty()) return fail(Errc::invalid_input, "run: no program given");
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return fail(Errc::internal, std::string("pipe: ") + std::strerror(errno));
  }
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

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return fail(Errc::invalid_input, "cannot run '" + options.argv[0] + "': " + std::strerror(rc));
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  if (options.inherit_stderr) err.close_end(0);

  // A program that exits without reading its stdin must not kill us with SIGPIPE: block it in
  // this thread while we write, and swallow one that became pending (EPIPE is handled below).
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  struct RestoreMask {
    sigset_t set, old;
    ~RestoreMask() {
      const timespec zero{0, 0};
      while (sigtimedwait(&set, nullptr, &zero) > 0) {
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } restore{pipe_set, old_mask};

  ProcessResult result;
  std::size_t written = 0;
  if (options.stdin_data.empty()) in.close_end(1);
  if (in.fd[1] >= 0) ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool term_sent = false;
  auto kill_deadline = deadline;
  // Past the deadline (or asked to stop): SIGTERM to the process group, then SIGKILL 2 s later
  // (stop_grace when asked to stop). True once killed.
  const auto enforce_deadline = [&](std::chrono::steady_clock::time_point now) {
    const bool stop = !term_sent && now < deadline && options.should_stop && options.should_stop();
    if (!term_sent && (now >= deadline || stop)) {
      (stop ? result.stopped : result.timed_out) = true;
      ::kill(-pid, SIGTERM);
      term_sent = true;
      kill_deadline = now + (stop ? options.stop_grace : std::chrono::milliseconds(std::chrono::seconds(2)));
    } else if (term_sent && now >= kill_deadline) {
      ::kill(-pid, SIGKILL);
      return true;
    }
    return false;
  };
  char buf[8192];
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out.fd[0] >= 0) { idx_out = n; fds[n++] = {out.fd[0], POLLIN, 0}; }
    if (err.fd[0] >= 0) { idx_err = n; fds[n++] = {err.fd[0], POLLIN, 0}; }
    if (in.fd[1] >= 0) { idx_in = n; fds[n++] = {in.fd[1], POLLOUT, 0}; }
    const auto now = std::chrono::steady_clock::now();
    if (enforce_deadline(now)) break;
    const auto wait_until = term_sent ? kill_deadline : deadline;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait_until - now).count();
    if (options.should_stop && !term_sent) ms = std::min<long long>(ms, 100);
    const int pr = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::max<long long>(ms, 0) + 1));
    if (pr < 0 && errno != EINTR) break;
    auto drain = [&](int idx, Pipe& p, std::string& sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      const ssize_t r = ::read(p.fd[0], buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) return;
        p.close_end(0);
        return;
      }
      if (sink.size() < options.max_output) sink.append(buf, std::min<std::size_t>(r, options.max_output - sink.size()));
    };
    drain(idx_out, out, result.out);
    drain(idx_err, err, result.err);
    if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = ::write(in.fd[1], options.stdin_data.data() + written, options.stdin_data.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) in.close_end(1);
      if (written >= options.stdin_data.size()) in.close_end(1);
    }
  }
  in.close_end(1);
  // The output pipes can close before the program ends (it redirected them, or closed them and
  // hangs): the deadline still holds while we wait for it to exit.
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (enforce_deadline(std::chrono::steady_clock::now())) {
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    ::usleep(5000);
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace certpilot::util
