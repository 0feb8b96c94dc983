// apikeys CLI: the session file that carries a login from one invocation to the next.
#ifndef APIKEYS_CLI_SESSION_FILE_HPP
#define APIKEYS_CLI_SESSION_FILE_HPP

#include <memory>
#include <optional>
#include <string>

#include <apikeys/session.hpp>

namespace apikeys_cli {

/// `${XDG_CONFIG_HOME:-$HOME/.config}/apikeys/session.json` (a relative XDG_CONFIG_HOME is ignored, as
/// the XDG spec asks), or an empty path and a reason when neither variable gives a place.
struct default_path {
  std::string path;
  std::string error;
};
default_path default_session_path();

enum class load_status { loaded, missing, invalid, unreadable };

struct loaded_session {
  load_status status = load_status::missing;
  std::string message;                      ///< why it is not loaded; never holds a token
  std::shared_ptr<apikeys::session> session;  ///< set when loaded
  bool others_can_read = false;             ///< group or other permission bits are set on the file
};

/// Reads the file written by save_session: one JSON object with the string members user_id, device_id,
/// provider, host, access_token and refresh_token (unknown members ignored), read with simdjson.
loaded_session load_session(const std::string& path);

/// Writes the session atomically (a temporary file beside it, then rename) with mode 0600, creating
/// missing directories with mode 0700. Returns why it failed, or nothing.
std::optional<std::string> save_session(const std::string& path, const apikeys::session& user);

/// Removes the file; a file that is not there is not an error. Returns why it failed, or nothing.
std::optional<std::string> remove_session(const std::string& path);

}  // namespace apikeys_cli

#endif  // APIKEYS_CLI_SESSION_FILE_HPP
