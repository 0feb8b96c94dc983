// apikeys CLI: reading an email, a password or a key value from the terminal, or as lines from stdin.
#ifndef APIKEYS_CLI_TERMINAL_HPP
#define APIKEYS_CLI_TERMINAL_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace apikeys_cli {

/// Longest line accepted; a longer one is refused rather than cut, since a cut password is a wrong one.
inline constexpr std::size_t max_input_line = 4096;

enum class input_status { ok, end_of_input, too_long, read_error };

/// Reads one line into `out` (without its "\n" or "\r\n"). When stdin is a terminal, `prompt` goes to
/// stderr first and, if `hide`, the terminal does not echo what is typed (it is restored even when a
/// signal ends the process mid-line). When stdin is not a terminal, nothing is shown and the next line
/// of stdin is read. `out` is reserved up front and never reallocated, so no stray copy of a secret is
/// left in freed memory; on anything but ok it is wiped and empty.
input_status read_input_line(std::string_view prompt, bool hide, std::string& out);

/// Whether stdin is a terminal.
bool stdin_is_terminal();

}  // namespace apikeys_cli

#endif  // APIKEYS_CLI_TERMINAL_HPP
