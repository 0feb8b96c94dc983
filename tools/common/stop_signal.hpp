// SIGINT and SIGTERM for apikeys' server programs (apikeys-emulator, apikeys-server): the handler writes to
// a pipe, the one async-signal-safe way to wake a thread, and main waits on it, since only a normal thread
// may stop a server. Tools-only: not a public header.
#ifndef APIKEYS_TOOLS_STOP_SIGNAL_HPP
#define APIKEYS_TOOLS_STOP_SIGNAL_HPP

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace apikeys_tools {

inline int stop_pipe[2] = {-1, -1};

inline void on_stop_signal(int) {
  const int saved = errno;
  const char byte = 1;
  if (::write(stop_pipe[1], &byte, 1) < 0) {
    // Nothing safe to do here; the pipe is only full if a stop is already on its way.
  }
  errno = saved;
}

/// Call first thing in main, so that a SIGTERM sent right after start still ends in a clean exit.
inline bool install_stop_signals() {
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0) return false;
  // Only the handler's end is non-blocking: it must never stall, while main waits in poll().
  if (::fcntl(stop_pipe[1], F_SETFL, ::fcntl(stop_pipe[1], F_GETFL) | O_NONBLOCK) != 0) return false;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(SIGINT, &action, nullptr) == 0 && ::sigaction(SIGTERM, &action, nullptr) == 0;
}

/// Waits for SIGINT or SIGTERM while `running()` holds (checked every 200 ms); true for a signal, false
/// when the server ended by itself.
template <class Running>
bool wait_for_stop_signal(Running&& running) {
  while (running()) {
    pollfd fd{stop_pipe[0], POLLIN, 0};
    const int n = ::poll(&fd, 1, 200);
    if (n < 0 && errno != EINTR) return false;
    if (n > 0) return true;
  }
  return false;
}

}  // namespace apikeys_tools

#endif  // APIKEYS_TOOLS_STOP_SIGNAL_HPP
