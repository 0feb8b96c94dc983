// apikeys CLI: terminal prompts with echo off (termios) and line reading from stdin.
#include "terminal.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

#include <apikeys/secret.hpp>

namespace apikeys_cli {

namespace {

// The terminal's settings while echo is off, for the signal handler to put back.
struct termios saved_terminal {};
volatile std::sig_atomic_t echo_is_off = 0;

constexpr int restored_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// A Ctrl-C at the password prompt must not leave the shell without echo: restore, then die of the signal.
void restore_terminal_and_reraise(int sig) {
  if (echo_is_off) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void wipe(std::string& text) {
  apikeys::detail::secure_wipe(text.data(), text.size());
  text.clear();
}

void write_stderr(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// One byte at a time, so nothing past the newline is consumed: the next call reads the next line.
input_status read_line(std::string& out) {
  out.clear();
  out.reserve(max_input_line + 1);
  bool read_any = false;
  bool too_long = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      wipe(out);
      return input_status::read_error;
    }
    if (n == 0) {
      if (!read_any) return input_status::end_of_input;
      break;
    }
    read_any = true;
    if (c == '\n') break;
    if (out.size() == max_input_line) {
      // Read on to the end of the line, so that what follows is not taken for the next answer.
      too_long = true;
      wipe(out);
    }
    if (!too_long) out.push_back(c);
  }
  if (too_long) {
    wipe(out);
    return input_status::too_long;
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return input_status::ok;
}

}  // namespace

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

input_status read_input_line(std::string_view prompt, bool hide, std::string& out) {
  if (!stdin_is_terminal()) return read_line(out);

  write_stderr(prompt);
  if (!hide) return read_line(out);

  struct termios quiet {};
  if (::tcgetattr(STDIN_FILENO, &saved_terminal) != 0) return input_status::read_error;
  struct sigaction previous[std::size(restored_signals)] {};
  struct sigaction restore {};
  restore.sa_handler = restore_terminal_and_reraise;
  sigemptyset(&restore.sa_mask);
  for (std::size_t i = 0; i < std::size(restored_signals); ++i) ::sigaction(restored_signals[i], &restore, &previous[i]);

  quiet = saved_terminal;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the Enter still moves to a new line
  echo_is_off = 1;
  input_status status = input_status::read_error;
  if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) status = read_line(out);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  echo_is_off = 0;

  for (std::size_t i = 0; i < std::size(restored_signals); ++i) ::sigaction(restored_signals[i], &previous[i], nullptr);
  return status;
}

}  // namespace apikeys_cli
