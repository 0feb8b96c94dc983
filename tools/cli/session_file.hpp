// apikeys CLI: where the session file lives; the file itself is an apikeys::file_session_store.
#ifndef APIKEYS_CLI_SESSION_FILE_HPP
#define APIKEYS_CLI_SESSION_FILE_HPP

#include <string>

#include <apikeys/session_store.hpp>

namespace apikeys_cli {

/// `${XDG_CONFIG_HOME:-$HOME/.config}/apikeys/session.json` (a relative XDG_CONFIG_HOME is ignored, as
/// the XDG spec asks), or an empty path and a reason when neither variable gives a place.
struct default_path {
  std::string path;
  std::string error;
};
default_path default_session_path();

/// The session file as a store. Since the CLI has always read a file others may read (with a warning,
/// see readable_by_others), it opens it with refuse_open_permissions off; every write makes it 0600.
inline apikeys::file_session_store open_session_store(const std::string& path) {
  return apikeys::file_session_store{path, apikeys::file_store_options{false}};
}

/// True when the file exists and has a group or other permission bit set.
bool readable_by_others(const std::string& path);

/// True when `path` names something that is there (a file, a directory, a dangling link).
bool session_file_exists(const std::string& path);

/// Removes the file; a file that is not there is not an error. Returns why it failed, or an empty string.
std::string remove_session_file(const std::string& path);

}  // namespace apikeys_cli

#endif  // APIKEYS_CLI_SESSION_FILE_HPP
