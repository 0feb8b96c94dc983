// Test helper: runs the apikeys-emulator program as a child process on 127.0.0.1 and an ephemeral port.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace apikeys_tests {

namespace detail {

// What a wait status says, as a shell reports it: the exit code, or 128 + the signal that ended it.
inline int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Reaps `pid` if it ends within `limit`. Polling keeps every wait bounded without SIGCHLD handlers,
// which would belong to the whole test process rather than to this helper.
inline std::optional<int> reap_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto nap = std::chrono::microseconds{200};
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;  // not our child (any more): nothing left to reap
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds{5000});
  }
}

// Reaps `pid` for certain: a polite wait, then SIGKILL, which cannot be ignored.
inline int reap_or_kill(pid_t pid, std::chrono::milliseconds limit) {
  if (auto status = reap_within(pid, limit)) return *status;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// Reads all of a file from its start, whatever the descriptor's offset (the child owns that).
inline std::string read_whole_fd(int fd) {
  std::string out;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

inline void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace detail

/// One apikeys-emulator process (the program at APIKEYS_EMULATOR_PATH, which the test build defines),
/// listening on 127.0.0.1 on a port of the kernel's choice. Construction returns once the server has
/// printed its URL, and so accepts connections; on failure it throws std::runtime_error carrying the
/// child's stderr (never its arguments, which may hold passwords), with the child already reaped.
/// stderr goes to an unlinked temporary file, so the server never blocks on a full pipe however much
/// it logs. The destructor stops the child if stop() has not, so no test leaves a process or a zombie.
///
/// Thread safety: base_url(), pid() and stderr_text() may be called from any thread; stop() and
/// running() too (they serialize); construction and destruction must not race anything.
class emulator_process {
 public:
  static constexpr std::chrono::milliseconds start_limit{10'000};
  static constexpr std::chrono::milliseconds stop_limit{10'000};

  /// Starts the emulator with `--port 0` followed by `extra_args` (e.g. `--app-id`, `--user`).
  explicit emulator_process(std::vector<std::string> extra_args = {}) {
#ifdef APIKEYS_EMULATOR_PATH
    start(APIKEYS_EMULATOR_PATH, std::move(extra_args));
#else
    (void)extra_args;
    throw std::runtime_error("emulator_process: this test was built without apikeys-emulator (APIKEYS_EMULATOR_PATH)");
#endif
  }

  /// Starts `program` (another server that prints its URL first, such as apikeys-server) with `--port 0`
  /// followed by `extra_args`.
  emulator_process(const std::string& program, std::vector<std::string> extra_args) {
    start(program, std::move(extra_args));
  }

  emulator_process(const emulator_process&) = delete;
  emulator_process& operator=(const emulator_process&) = delete;

  ~emulator_process() {
    stop(SIGTERM);
    detail::close_fd(stderr_fd_);
  }

  /// `http://127.0.0.1:<port>` (`https://` when started with --tls-cert), exactly as the server printed it.
  const std::string& base_url() const noexcept { return base_url_; }
  pid_t pid() const noexcept { return pid_; }

  /// Sends `signal_number` (unless the child has already ended), waits up to stop_limit for it to exit, then
  /// kills it. Returns its exit code, or 128 + the signal that ended it; later calls return the same.
  int stop(int signal_number = SIGTERM) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status_) {
      if (!poll_exit_locked()) {
        ::kill(pid_, signal_number);
        status_ = detail::decode_wait_status(detail::reap_or_kill(pid_, stop_limit));
      }
      detail::close_fd(stdout_fd_);
    }
    return *status_;
  }

  /// True while the child has not exited (reaping it if it just did).
  bool running() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !status_ && !poll_exit_locked();
  }

  /// Everything the server has written to stderr so far (all of it, once stop() has returned).
  std::string stderr_text() const { return detail::read_whole_fd(stderr_fd_); }

 private:
  bool poll_exit_locked() {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != pid_) return false;
    status_ = detail::decode_wait_status(status);
    return true;
  }

  [[noreturn]] void fail_start(std::string why, bool kill_first) {
    if (kill_first) ::kill(pid_, SIGKILL);
    const int status = detail::decode_wait_status(detail::reap_or_kill(pid_, stop_limit));
    std::string message = "apikeys-emulator did not start: " + std::move(why) + " (exit status " +
                          std::to_string(status) + "); its stderr:\n" + detail::read_whole_fd(stderr_fd_);
    detail::close_fd(stdout_fd_);
    detail::close_fd(stderr_fd_);
    throw std::runtime_error(message);
  }

  void start(const std::string& program, std::vector<std::string> extra_args) {
    std::vector<std::string> args{program, "--port", "0"};
    for (auto& a : extra_args) args.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // Every descriptor is close-on-exec, so a child spawned by another thread at the same moment
    // cannot inherit (and hold open) this one's pipe.
    int out[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "emulator_process: pipe2");
    std::string path = (std::filesystem::temp_directory_path() / "apikeys-emulator-stderr-XXXXXX").string();
    stderr_fd_ = ::mkostemp(path.data(), O_CLOEXEC | O_APPEND);
    if (stderr_fd_ < 0) {
      const int e = errno;
      ::close(out[0]);
      ::close(out[1]);
      throw std::system_error(e, std::generic_category(), "emulator_process: mkostemp");
    }
    ::unlink(path.c_str());

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, stderr_fd_, 2);
    ::posix_spawnattr_init(&attr);
    // The test process may block or ignore signals (ctest, a debugger); the server must start clean.
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &defaults);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int spawned = ::posix_spawn(&pid_, program.c_str(), &actions, &attr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    stdout_fd_ = out[0];
    if (spawned != 0) {
      detail::close_fd(stdout_fd_);
      detail::close_fd(stderr_fd_);
      throw std::system_error(spawned, std::generic_category(), "emulator_process: cannot run " + program);
    }

    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + start_limit;
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) fail_start("no URL on stdout within " + std::to_string(start_limit.count()) + " ms", true);
      pollfd p{stdout_fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) fail_start(std::string{"poll failed: "} + std::strerror(errno), true);
      if (ready <= 0) continue;
      char buffer[256];
      const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      // The child closed stdout: it is exiting, most likely over a bad argument.
      if (n <= 0) fail_start("it exited before printing its URL", false);
      line.append(buffer, static_cast<std::size_t>(n));
    }
    line.resize(line.find('\n'));
    if (line.rfind("http://", 0) != 0 && line.rfind("https://", 0) != 0)
      fail_start("its first line is not a URL: '" + line + "'", true);
    base_url_ = std::move(line);
  }

  pid_t pid_ = -1;
  std::string base_url_;
  int stdout_fd_ = -1;  // kept open until the child is reaped, so a late write cannot raise SIGPIPE there
  int stderr_fd_ = -1;
  std::mutex mutex_;
  std::optional<int> status_;
};

}  // namespace apikeys_tests

// The spelling other integration tests were told to use.
namespace apikeys_test {
using apikeys_tests::emulator_process;
}  // namespace apikeys_test
