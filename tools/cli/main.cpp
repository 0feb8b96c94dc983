// apikeys: the command-line tool that manages a user's API keys on App Services or a compatible server.
//
// Exit status (also in `apikeys --help`):
//   0  success
//   1  any other failure: a server error, a duplicate key name, the key limit reached, an answer that
//      cannot be read, a session file that cannot be written
//   2  usage error: unknown command or option, missing or extra argument, malformed key id, a key name
//      the server would refuse (checked here, before anything is sent), missing app id
//   3  no such key (get, enable, disable; delete of a missing key succeeds)
//   4  authentication or session failure: not logged in, no or unusable session file, session expired
//      (401), refused (403, e.g. deleting the key in use), login refused
//   5  the server could not be reached: connection refused, timeout, TLS failure
//
// Secrets: passwords and key values never come from the command line (they would land in the shell's
// history); they come from the environment, a no-echo prompt or stdin. Tokens live only in the session
// file (mode 0600, an apikeys::file_session_store). The one secret ever printed is a new key's value,
// once, on stdout, by `create`.
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <apikeys/apikeys.hpp>
#include <apikeys/detail/json_writer.hpp>
#include <apikeys/transport/httplib.hpp>
#include <fmt/format.h>

#include "session_file.hpp"
#include "terminal.hpp"

namespace {

namespace cli = apikeys_cli;

enum exit_status : int {
  exit_ok = 0,
  exit_failure = 1,
  exit_usage = 2,
  exit_not_found = 3,
  exit_auth = 4,
  exit_unreachable = 5,
};

using app_type = apikeys::basic_app_client<apikeys::httplib_transport, apikeys::inline_executor, apikeys::return_result>;
using key_client = apikeys::basic_api_key_client<apikeys::httplib_transport&, apikeys::inline_executor, apikeys::return_result>;

// --- help ----------------------------------------------------------------------------------------------------

constexpr std::string_view tool_usage = R"(usage: apikeys [options] <command> [args]

Manages the API keys of an App Services user, on any server that speaks the App Services protocol
(such as apikeys-emulator). Log in once; the key commands then use the saved session.

commands:
  login            log in with an email and password and save the session
  login-with-key   log in with an API key's value, as the key's owner, and save the session
  logout           end the session on the server and delete the session file
  create NAME      create a key and print its secret value (shown this once only)
  list             list the keys: id, name, enabled
  get ID           show one key
  enable ID        enable a key
  disable ID       disable a key: logins with it are refused until it is enabled again
  delete ID        delete a key (a key that does not exist counts as deleted)
  help [COMMAND]   show this text, or a command's

options (before or after the command; `--` ends them):
  --base-url URL   where the app's location is looked up (env APIKEYS_BASE_URL;
                   default https://services.cloud.mongodb.com); needed by login only
  --app-id ID      the app id (env APIKEYS_APP_ID); needed by login only
  --session FILE   the session file (env APIKEYS_SESSION_FILE; default
                   ${XDG_CONFIG_HOME:-$HOME/.config}/apikeys/session.json)
  --timeout SECS   give up on a request after this many seconds (default 60)
  --json           print one compact JSON document for scripts instead of tables
  -v, --verbose    log each request's response, the location and ended sessions to stderr;
                   -vv (or -v twice) logs every event (requests, connections, redirects) too.
                   Never a token, a password or a key value
  -h, --help       show help; after a command, that command's
  --version        print the version

A flag wins over its environment variable. Passwords and key values are never taken from the command
line: login reads APIKEYS_EMAIL and APIKEYS_PASSWORD, login-with-key reads APIKEYS_KEY, and asks on the
terminal for what is not set (or reads it as lines from stdin when stdin is not a terminal).

exit status:
  0  success
  1  any other failure (server error, duplicate key name, key limit reached, unreadable answer)
  2  usage error (unknown command or option, missing or extra argument, malformed id, invalid name)
  3  no such key (get, enable, disable)
  4  not logged in, session expired or refused (401, 403), or login refused
  5  the server could not be reached (connection refused, timeout, TLS)
)";

struct command_help {
  std::string_view name;
  std::string_view text;
};

constexpr command_help command_helps[] = {
    {"login", R"(usage: apikeys [options] login

Logs in with an email and password and saves the session (user id, device id, host, provider and the
two tokens) in the session file, created with mode 0600, for the key commands that follow. Needs the
app id (--app-id or APIKEYS_APP_ID) and the server (--base-url or APIKEYS_BASE_URL). A user the file
holds already gets the new session; another user is added, and the key commands act as the user who
logged in last.

The email comes from APIKEYS_EMAIL and the password from APIKEYS_PASSWORD. What is not set is asked
for on the terminal, the password without echo; when stdin is not a terminal, the email and then the
password are read from it, one line each. There is no option for them: it would end up in your shell
history.

Prints the user id and device id (with --json: {"user_id":...,"device_id":...}), never the tokens.
)"},
    {"login-with-key", R"(usage: apikeys [options] login-with-key

Logs this device in with an API key's secret value, as the user who created the key, and saves the
session in the session file (mode 0600). The key commands then act on the owner's keys, except that the
server refuses to delete the key the session logged in with. Needs the app id and the server, as login.

The value comes from APIKEYS_KEY, or is asked for on the terminal without echo, or is read as one line
from stdin when stdin is not a terminal. Prints the user id and device id, never the tokens.
)"},
    {"logout", R"(usage: apikeys [options] logout

Ends the current session on the server (revoking its tokens) and forgets it; the session file goes
with the last session it holds, and a session logged in before becomes current. The session is
forgotten even when the server cannot be reached; the exit status then says so. Logging out when not
logged in succeeds and does nothing.
)"},
    {"create", R"(usage: apikeys [options] create NAME

Creates an API key named NAME: ASCII letters, digits, '_' and '-' (checked before anything is sent; put
a name starting with '-' after '--'). Names are unique per user; a user may hold 20 keys.

Prints the key: id, name, enabled and its secret value, which the server shows this once and never
again, so store it now. The value goes to stdout only; a reminder goes to stderr. With --json:
{"id":...,"name":...,"enabled":true,"value":...}.
)"},
    {"list", R"(usage: apikeys [options] list

Lists the user's keys in creation order, as a table with the columns ID, NAME and ENABLED, or with
--json as an array of {"id":...,"name":...,"enabled":...}. Key values are never listed.
)"},
    {"get", R"(usage: apikeys [options] get ID

Shows the key whose id is ID (24 hex digits): id, name and enabled, or with --json
{"id":...,"name":...,"enabled":...}. Exits with status 3 when the user has no such key.
)"},
    {"enable", R"(usage: apikeys [options] enable ID

Enables the key whose id is ID (24 hex digits); enabling an enabled key succeeds. Exits with status 3
when the user has no such key. With --json prints {"id":...,"enabled":true}.
)"},
    {"disable", R"(usage: apikeys [options] disable ID

Disables the key whose id is ID (24 hex digits): logins with it are refused until it is enabled again;
disabling a disabled key succeeds. Exits with status 3 when the user has no such key. With --json
prints {"id":...,"enabled":false}.
)"},
    {"delete", R"(usage: apikeys [options] delete ID

Deletes the key whose id is ID (24 hex digits). Deleting a key that does not exist succeeds, so running
it twice is safe. The server refuses to delete the key the current session logged in with (status 4).
With --json prints {"id":...,"deleted":true}.
)"},
    {"help", R"(usage: apikeys help [COMMAND]

Shows the tool's help, or the help of COMMAND (the same as `apikeys COMMAND --help`).
)"},
};

const command_help* find_command(std::string_view name) {
  for (const auto& c : command_helps)
    if (c.name == name) return &c;
  return nullptr;
}

// --- output --------------------------------------------------------------------------------------------------

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Server-supplied text (names, error messages) must not drive the terminal: C0 and C1 controls become '?'.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80) {
      out.push_back('?');
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void say_error(std::string_view what) {
  std::string line = "apikeys: ";
  line.append(printable(what)).push_back('\n');
  write_all(STDERR_FILENO, line);
}

int usage_error(std::string_view what) {
  say_error(what);
  write_all(STDERR_FILENO, "run 'apikeys --help' for usage\n");
  return exit_usage;
}

// Ordinary output; a reader that went away (EPIPE) is reported, since the caller may be a script.
int print(std::string_view text) {
  if (write_all(STDOUT_FILENO, text)) return exit_ok;
  const int error = errno;
  say_error(std::string{"cannot write to stdout: "} + std::strerror(error));
  return exit_failure;
}

std::string describe(const apikeys::api_error& error) { return fmt::format("{}", error); }

int exit_code_for(const apikeys::api_error& error) {
  switch (error.kind()) {
    case apikeys::error_kind::client: return error.code == apikeys::errc::not_logged_in ? exit_auth : exit_usage;
    case apikeys::error_kind::transport: return exit_unreachable;
    default: break;
  }
  switch (error.code) {
    case apikeys::errc::api_key_not_found: return exit_not_found;
    case apikeys::errc::auth_error:
    case apikeys::errc::invalid_session:
    case apikeys::errc::missing_auth_req:
    case apikeys::errc::user_disabled: return exit_auth;
    default: break;
  }
  return error.http_status == 401 || error.http_status == 403 ? exit_auth : exit_failure;
}

int report(const apikeys::api_error& error) {
  say_error(describe(error));
  return exit_code_for(error);
}

void append_key_json(std::string& out, const apikeys::api_key& key, bool with_value) {
  out.append("{\"id\":\"").append(key.id.to_string()).append("\",");
  apikeys::detail::append_json_member(out, "name", key.name);
  out.append(",\"enabled\":").append(key.enabled ? "true" : "false");
  if (with_value && key.value) {
    out.push_back(',');
    apikeys::detail::append_json_member(out, "value", key.value->reveal());
  }
  out.push_back('}');
}

void append_key_lines(std::string& out, const apikeys::api_key& key, bool with_value) {
  out.append("id:      ").append(key.id.to_string()).push_back('\n');
  out.append("name:    ").append(printable(key.name)).push_back('\n');
  out.append("enabled: ").append(key.enabled ? "yes" : "no").push_back('\n');
  if (with_value && key.value) out.append("value:   ").append(key.value->reveal()).push_back('\n');
}

std::string key_table(const std::vector<apikeys::api_key>& keys) {
  std::vector<std::string> names;
  std::size_t width = 4;  // "NAME"
  for (const auto& key : keys) {
    names.push_back(printable(key.name));
    if (names.back().size() > width) width = names.back().size();
  }
  auto row = [&](std::string& out, std::string_view id, std::string_view name, std::string_view enabled) {
    out.append(id).append(apikeys::object_id::text_size + 2 - id.size(), ' ');
    out.append(name).append(width + 2 - name.size(), ' ');
    out.append(enabled).push_back('\n');
  };
  std::string out;
  row(out, "ID", "NAME", "ENABLED");
  for (std::size_t i = 0; i < keys.size(); ++i) row(out, keys[i].id.to_string(), names[i], keys[i].enabled ? "yes" : "no");
  return out;
}

// --- the command line ----------------------------------------------------------------------------------------

struct invocation {
  std::optional<std::string> base_url;
  std::optional<std::string> app_id;
  std::optional<std::string> session_file;
  std::optional<std::string> timeout;
  bool json = false;
  bool help = false;
  bool version = false;
  int verbosity = 0;  // -v: 1 (info), -vv: 2 (trace)
  std::vector<std::string> words;  // the command and its arguments
};

struct parse_outcome {
  invocation value;
  std::string error;  // set when the line is not usable
};

parse_outcome parse_command_line(int argc, char** argv) {
  parse_outcome out;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (options_done || arg.size() < 2 || arg.front() != '-') {
      out.value.words.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    // "--name=value" or "--name value". Only the name is ever quoted back: a value might be a secret
    // someone pasted in the wrong place.
    const std::size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    std::optional<std::string_view> attached;
    if (equals != std::string_view::npos) attached = arg.substr(equals + 1);

    if (name == "-v" || name == "--verbose" || name == "-vv") {
      if (attached) {
        out.error = fmt::format("option {} takes no value", name);
        return out;
      }
      out.value.verbosity += name == "-vv" ? 2 : 1;
      continue;
    }
    if (name == "--json" || name == "--help" || name == "-h" || name == "--version") {
      if (attached) {
        out.error = fmt::format("option {} takes no value", name);
        return out;
      }
      if (name == "--json") out.value.json = true;
      else if (name == "--version") out.value.version = true;
      else out.value.help = true;
      continue;
    }
    std::optional<std::string>* target = nullptr;
    if (name == "--base-url") target = &out.value.base_url;
    else if (name == "--app-id") target = &out.value.app_id;
    else if (name == "--session") target = &out.value.session_file;
    else if (name == "--timeout") target = &out.value.timeout;
    if (target == nullptr) {
      out.error = fmt::format("unknown option '{}'", name.size() > 40 ? name.substr(0, 40) : name);
      return out;
    }
    std::string_view value;
    if (attached) {
      value = *attached;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      out.error = fmt::format("option {} needs a value", name);
      return out;
    }
    if (value.empty()) {
      out.error = fmt::format("option {} needs a non-empty value", name);
      return out;
    }
    target->emplace(value);
  }
  return out;
}

/// What the commands run with, once flags and environment are merged.
struct settings {
  std::string base_url;
  std::string app_id;
  std::optional<std::string> session_file;  // from --session or APIKEYS_SESSION_FILE
  std::chrono::milliseconds timeout{60'000};
  bool json = false;
  int verbosity = 0;
};

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

std::string flag_or_environment(const std::optional<std::string>& flag, const char* variable, std::string fallback) {
  if (flag) return *flag;
  if (const char* value = environment(variable)) return value;
  return fallback;
}

std::string session_path(const settings& s, std::string& error) {
  if (s.session_file) return *s.session_file;
  auto found = cli::default_session_path();
  error = std::move(found.error);
  return std::move(found.path);
}

std::string operating_system_release() {
  struct utsname name {};
  if (::uname(&name) != 0 || name.release[0] == '\0') return "unknown";
  return name.release;
}

app_type make_app(const settings& s) {
  apikeys::app_config config;
  config.app_id = s.app_id;
  config.base_url = s.base_url;
  config.timeout = s.timeout;
  config.device.platform_version = operating_system_release();
  config.device.framework_name = "apikeys-cli";
  config.device.framework_version = APIKEYS_VERSION_STRING;
  // -v and -vv: one line per event on stderr, so stdout stays what scripts read.
  apikeys::httplib_transport_options transport;
  if (s.verbosity > 0) {
    config.logger = apikeys::fmt_log_sink(stderr, s.verbosity > 1 ? apikeys::log_level::trace : apikeys::log_level::info);
    transport.logger = config.logger;
  }
  return app_type{apikeys::httplib_transport{std::move(transport)}, std::move(config)};
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return std::string{text};
}

// --- reading credentials -------------------------------------------------------------------------------------

/// A credential from the environment, or asked for. `what` names it in messages; it is never the value.
struct asked {
  std::optional<apikeys::secret> value;
  int status = exit_ok;
};

asked ask_for(const char* variable, std::string_view prompt, std::string_view what, bool hide, bool trim_blanks) {
  asked out;
  std::string line;
  if (const char* value = environment(variable)) {
    line.reserve(std::strlen(value) + 1);
    line.assign(value);
  } else {
    switch (cli::read_input_line(prompt, hide, line)) {
      case cli::input_status::ok: break;
      case cli::input_status::end_of_input:
        say_error(fmt::format("no {} given: set {}, or {}", what, variable,
                              cli::stdin_is_terminal() ? "type it when asked" : "write it as a line on stdin"));
        out.status = exit_usage;
        return out;
      case cli::input_status::too_long:
        say_error(fmt::format("the {} is longer than {} bytes", what, cli::max_input_line));
        out.status = exit_usage;
        return out;
      case cli::input_status::read_error:
        say_error(fmt::format("cannot read the {}: {}", what, std::strerror(errno)));
        out.status = exit_failure;
        return out;
    }
  }
  if (trim_blanks) {
    std::string trimmed = trim(line);
    apikeys::detail::secure_wipe(line.data(), line.size());
    line = std::move(trimmed);
  }
  if (line.empty()) {
    say_error(fmt::format("the {} is empty", what));
    out.status = exit_usage;
    return out;
  }
  out.value.emplace(std::move(line));  // wipes `line`
  return out;
}

// --- commands ------------------------------------------------------------------------------------------------

int print_session(const settings& s, const apikeys::session& user, const std::string& path) {
  std::string out;
  if (s.json) {
    out.push_back('{');
    apikeys::detail::append_json_member(out, "user_id", user.user_id());
    out.push_back(',');
    apikeys::detail::append_json_member(out, "device_id", user.device_id());
    out.append("}\n");
  } else {
    out = fmt::format("logged in as user {} (device {})\nsession saved in {}\n", printable(user.user_id()),
                      printable(user.device_id()), printable(path));
  }
  return print(out);
}

int log_in(const settings& s, bool with_key) {
  if (s.app_id.empty()) return usage_error("logging in needs the app id: --app-id ID or APIKEYS_APP_ID");
  std::string path_error;
  const std::string path = session_path(s, path_error);
  if (path.empty()) return usage_error(path_error);

  std::optional<apikeys::credentials> creds;
  if (with_key) {
    asked key = ask_for("APIKEYS_KEY", "API key: ", "API key", true, true);
    if (!key.value) return key.status;
    creds = apikeys::credentials::api_key(*key.value);
  } else {
    asked email = ask_for("APIKEYS_EMAIL", "email: ", "email", false, true);
    if (!email.value) return email.status;
    asked password = ask_for("APIKEYS_PASSWORD", "password: ", "password", true, false);
    if (!password.value) return password.status;
    creds = apikeys::credentials::email_password(email.value->reveal(), password.value->reveal());
  }

  // The app keeps the session in the store; one it cannot save is revoked on the server by the app.
  apikeys::file_session_store store = cli::open_session_store(path);
  app_type app = make_app(s);
  if (auto attached = app.use_store(store); !attached) {
    say_error(attached.error().message + "; 'apikeys logout' removes it");
    return exit_auth;
  }
  auto user = app.log_in(*creds);
  creds.reset();
  if (!user && user.error().code == apikeys::errc::store_error) {
    say_error(user.error().message);
    return exit_failure;
  }
  if (!user) return report(user.error());
  return print_session(s, **user, path);
}

int log_out(const settings& s) {
  std::string path_error;
  const std::string path = session_path(s, path_error);
  if (path.empty()) return usage_error(path_error);
  const std::string_view not_logged_in = s.json ? "{\"logged_out\":false}\n" : "not logged in\n";
  if (!cli::session_file_exists(path)) return print(not_logged_in);
  apikeys::file_session_store store = cli::open_session_store(path);
  app_type app = make_app(s);
  if (auto attached = app.use_store(store); !attached) {
    // Nothing in it can be revoked; forgetting it is all logging out can do.
    if (auto error = cli::remove_session_file(path); !error.empty()) {
      say_error(error);
      return exit_failure;
    }
    say_error(attached.error().message + "; removed it");
    return print(s.json ? "{\"logged_out\":true}\n" : "logged out\n");
  }
  const std::shared_ptr<apikeys::session> user = app.current_user();
  if (!user) return print(not_logged_in);
  const std::string user_id = user->user_id();
  // The store forgets the user whatever the server said: that is what the user asked for.
  auto ended = app.remove_user(user);
  auto left = store.load();
  if (!left || std::any_of(left->users.begin(), left->users.end(), [&](const apikeys::stored_user& u) { return u.user_id == user_id; })) {
    say_error("cannot remove the session from the session file " + path);
    return exit_failure;
  }
  // A 401 means the server had already ended the session: the user is logged out either way.
  if (!ended && ended.error().http_status != 401) {
    say_error(describe(ended.error()) + (cli::session_file_exists(path) ? "; the session was removed from the session file"
                                                                          : "; the session file was removed") +
              ", but the server may accept the session until it expires");
    return exit_code_for(ended.error());
  }
  if (s.json) return print("{\"logged_out\":true}\n");
  const std::shared_ptr<apikeys::session> next = app.current_user();
  if (!next) return print("logged out\n");
  return print(fmt::format("logged out\nthe key commands now act as user {} (device {})\n", printable(next->user_id()),
                           printable(next->device_id())));
}

/// The current user's session; a 401 ends it, and the app's store has then forgotten it (the file goes
/// with its last session).
class key_session {
 public:
  explicit key_session(std::shared_ptr<apikeys::session> user) : user_(std::move(user)) {}

  const std::shared_ptr<apikeys::session>& user() const noexcept { return user_; }

  int fail(const apikeys::api_error& error) const {
    if (user_->logged_in()) return report(error);
    say_error("session expired; log in again (" + describe(error) + ")");
    return exit_auth;
  }

 private:
  std::shared_ptr<apikeys::session> user_;
};

template <class Command>
int with_session(const settings& s, Command&& command) {
  std::string path_error;
  const std::string path = session_path(s, path_error);
  if (path.empty()) return usage_error(path_error);
  if (!cli::session_file_exists(path)) {
    say_error("not logged in (no session file at " + path + "); run 'apikeys login'");
    return exit_auth;
  }
  apikeys::file_session_store store = cli::open_session_store(path);
  app_type app = make_app(s);
  if (auto attached = app.use_store(store); !attached) {
    say_error(attached.error().message + "; log in again");
    return exit_auth;
  }
  const std::shared_ptr<apikeys::session> user = app.current_user();
  if (!user) {
    say_error("not logged in (no session in the session file " + path + "); run 'apikeys login'");
    return exit_auth;
  }
  if (cli::readable_by_others(path))
    say_error("warning: other users may read the session file " + path + "; chmod 600 it, or log in again");
  key_client keys = app.api_keys(user);
  const key_session session{user};
  return command(keys, session);
}

std::optional<apikeys::object_id> key_id_argument(std::string_view command, std::string_view text) {
  auto id = apikeys::object_id::parse(text);
  // The text is not quoted back: a key's value pasted here by mistake must not reach a log.
  if (!id) usage_error(fmt::format("{}: ID must be 24 hex digits (got {} characters)", command, text.size()));
  return id;
}

int create_key(const settings& s, const std::string& name) {
  if (auto invalid = apikeys::ops::validate_key_name(name)) return usage_error("create: " + invalid->message);
  return with_session(s, [&](key_client& keys, const key_session& session) -> int {
    auto key = keys.create(name);
    if (!key) return session.fail(key.error());
    if (!key->value) {
      say_error("the server's answer carried no key value");
      return exit_failure;
    }
    std::string out;
    out.reserve(512 + 6 * key->name.size() + 2 * key->value->size());  // never reallocated: it holds the secret
    if (s.json) {
      append_key_json(out, *key, true);
      out.push_back('\n');
    } else {
      append_key_lines(out, *key, true);
    }
    const bool written = write_all(STDOUT_FILENO, out);
    const int error = errno;
    apikeys::detail::secure_wipe(out.data(), out.size());
    if (!written) {
      say_error(fmt::format("cannot write to stdout ({}): key {} was created but its value is lost; delete it with "
                            "'apikeys delete {}'",
                            std::strerror(error), key->id.to_string(), key->id.to_string()));
      return exit_failure;
    }
    if (!s.json) say_error("the key value above will not be shown again: store it now");
    return exit_ok;
  });
}

int list_keys(const settings& s) {
  return with_session(s, [&](key_client& keys, const key_session& session) -> int {
    auto all = keys.fetch_all();
    if (!all) return session.fail(all.error());
    if (!s.json) return print(key_table(*all));
    std::string out = "[";
    for (std::size_t i = 0; i < all->size(); ++i) {
      if (i != 0) out.push_back(',');
      append_key_json(out, (*all)[i], false);
    }
    out.append("]\n");
    return print(out);
  });
}

int get_key(const settings& s, const apikeys::object_id& id) {
  return with_session(s, [&](key_client& keys, const key_session& session) -> int {
    auto key = keys.fetch(id);
    if (!key) return session.fail(key.error());
    if (!*key) {
      say_error("no key with id " + id.to_string());
      return exit_not_found;
    }
    std::string out;
    if (s.json) {
      append_key_json(out, **key, false);
      out.push_back('\n');
    } else {
      append_key_lines(out, **key, false);
    }
    return print(out);
  });
}

int toggle_key(const settings& s, const apikeys::object_id& id, bool enable) {
  return with_session(s, [&](key_client& keys, const key_session& session) -> int {
    auto done = enable ? keys.enable(id) : keys.disable(id);
    if (!done) return session.fail(done.error());
    if (s.json) return print(fmt::format("{{\"id\":\"{}\",\"enabled\":{}}}\n", id.to_string(), enable));
    return print(fmt::format("{} API key {}\n", enable ? "enabled" : "disabled", id.to_string()));
  });
}

int delete_key(const settings& s, const apikeys::object_id& id) {
  return with_session(s, [&](key_client& keys, const key_session& session) -> int {
    auto done = keys.remove(id);
    if (!done) return session.fail(done.error());
    if (s.json) return print(fmt::format("{{\"id\":\"{}\",\"deleted\":true}}\n", id.to_string()));
    return print(fmt::format("deleted API key {}\n", id.to_string()));
  });
}

int show_help(std::string_view command) {
  if (command.empty()) return print(tool_usage);
  if (const command_help* found = find_command(command)) return print(found->text);
  return usage_error(fmt::format("no such command '{}'", printable(command.substr(0, 40))));
}

int run(const invocation& line) {
  if (line.version) return print("apikeys " APIKEYS_VERSION_STRING "\n");
  const std::string_view command = line.words.empty() ? std::string_view{} : std::string_view{line.words.front()};
  if (line.help) return show_help(command);
  if (command.empty()) {
    say_error("no command given");
    write_all(STDERR_FILENO, tool_usage);
    return exit_usage;
  }
  const command_help* known = find_command(command);
  if (known == nullptr) return usage_error(fmt::format("unknown command '{}'", printable(command.substr(0, 40))));

  const std::size_t operands = line.words.size() - 1;
  const bool takes_one = command == "create" || command == "get" || command == "enable" || command == "disable" ||
                         command == "delete";
  if (command == "help") {
    if (operands > 1) return usage_error("help takes at most one command name");
    return show_help(operands == 1 ? std::string_view{line.words[1]} : std::string_view{});
  }
  if (takes_one && operands == 0)
    return usage_error(fmt::format("{} needs {}", command, command == "create" ? "a NAME" : "an ID"));
  if (operands > (takes_one ? 1u : 0u))
    return usage_error(fmt::format("{} takes {}", command, takes_one ? "one argument" : "no arguments"));

  settings s;
  s.json = line.json;
  s.verbosity = line.verbosity;
  s.base_url = flag_or_environment(line.base_url, "APIKEYS_BASE_URL", apikeys::app_config{}.base_url);
  s.app_id = flag_or_environment(line.app_id, "APIKEYS_APP_ID", {});
  if (line.session_file) s.session_file = *line.session_file;
  else if (const char* file = environment("APIKEYS_SESSION_FILE")) s.session_file = file;
  if (!s.base_url.starts_with("http://") && !s.base_url.starts_with("https://"))
    return usage_error("the base URL must start with http:// or https://");
  if (line.timeout) {
    unsigned seconds = 0;
    const std::string& text = *line.timeout;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || end != text.data() + text.size() || seconds == 0 || seconds > 86'400)
      return usage_error("--timeout needs a whole number of seconds from 1 to 86400");
    s.timeout = std::chrono::seconds{seconds};
  }

  if (command == "login") return log_in(s, false);
  if (command == "login-with-key") return log_in(s, true);
  if (command == "logout") return log_out(s);
  if (command == "list") return list_keys(s);
  if (command == "create") return create_key(s, line.words[1]);
  const auto id = key_id_argument(command, line.words[1]);
  if (!id) return exit_usage;
  if (command == "get") return get_key(s, *id);
  if (command == "enable") return toggle_key(s, *id, true);
  if (command == "disable") return toggle_key(s, *id, false);
  return delete_key(s, *id);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must be an error we can report (create's key value would be lost), not a silent death.
  ::signal(SIGPIPE, SIG_IGN);
  const parse_outcome parsed = parse_command_line(argc, argv);
  if (!parsed.error.empty()) return usage_error(parsed.error);
  return run(parsed.value);
}
