// The apikeys CLI as a user drives it: child processes against apikeys-emulator on 127.0.0.1.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <apikeys/version.hpp>

#include "support/emulator_process.hpp"

extern char** environ;

#ifndef APIKEYS_CLI_PATH
#error "APIKEYS_CLI_PATH must name the built apikeys binary (tests/CMakeLists.txt defines it)"
#endif
#ifndef APIKEYS_EMULATOR_PATH
#error "APIKEYS_EMULATOR_PATH must name the built apikeys-emulator binary (tests/CMakeLists.txt defines it)"
#endif

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto child_time_limit = 20s;
constexpr std::string_view app_id = "cli-test";

// --- child processes -----------------------------------------------------------------------------------------

struct run_result {
  std::vector<std::string> args;
  int status = -1;  // the exit status, or 128 + the signal that ended it
  bool timed_out = false;
  std::string out;
  std::string err;

  std::string describe() const {
    std::string text = "apikeys";
    for (const auto& a : args) text.append(" ").append(a);
    text.append("\n  status: ").append(std::to_string(status)).append(timed_out ? " (timed out, killed)" : "");
    text.append("\n  stdout: ").append(out).append("\n  stderr: ").append(err);
    return text;
  }
};

void ignore_sigpipe() {
  // A child that exits without reading its stdin must not kill the test with SIGPIPE.
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

struct pipe_pair {
  int read = -1;
  int write = -1;
  pipe_pair() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string{"pipe2: "} + std::strerror(errno));
    read = fds[0];
    write = fds[1];
  }
  ~pipe_pair() {
    close_read();
    close_write();
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

std::vector<char*> c_strings(std::vector<std::string>& items) {
  std::vector<char*> out;
  for (auto& item : items) out.push_back(item.data());
  out.push_back(nullptr);
  return out;
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Runs `program args...` with exactly `env`, `input` on its stdin (then EOF), and stdout and stderr
/// captured apart. Killed, and reported as timed out, when it takes longer than `limit`.
run_result run_program(const std::string& program, const std::vector<std::string>& args, std::vector<std::string> env,
                       std::string_view input, std::chrono::milliseconds limit = child_time_limit) {
  ignore_sigpipe();
  run_result result;
  result.args = args;
  pipe_pair in, out, err;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("posix_spawn " + program + ": " + std::strerror(spawned));
  in.close_read();
  out.close_write();
  err.close_write();

  const auto deadline = clock_type::now() + limit;
  if (input.empty()) {
    in.close_write();
  } else {
    ::fcntl(in.write, F_SETFL, ::fcntl(in.write, F_GETFL) | O_NONBLOCK);
  }
  while (out.read >= 0 || err.read >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left <= 0ms) {
      result.timed_out = true;
      break;
    }
    pollfd fds[3] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}, {in.write, POLLOUT, 0}};
    const int ready = ::poll(fds, 3, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw std::runtime_error(std::string{"poll: "} + std::strerror(errno));
    if (fds[2].revents != 0) {
      const ssize_t n = ::write(in.write, input.data(), input.size());
      if (n > 0) input.remove_prefix(static_cast<std::size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) in.close_write();
    }
    std::pair<pipe_pair*, std::string*> sinks[2] = {{&out, &result.out}, {&err, &result.err}};
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(sinks[i].first->read, buffer, sizeof buffer);
      if (n > 0) sinks[i].second->append(buffer, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) sinks[i].first->close_read();
    }
  }
  in.close_write();

  int status = 0;
  while (!result.timed_out) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.status = decode_wait_status(status);
      return result;
    }
    if (done < 0 && errno != EINTR) throw std::runtime_error(std::string{"waitpid: "} + std::strerror(errno));
    if (clock_type::now() >= deadline) result.timed_out = true;
    else std::this_thread::sleep_for(2ms);
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = decode_wait_status(status);
  return result;
}

/// A private directory under the system's temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "apikeys-cli-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string{name}; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// A port on 127.0.0.1 where nothing listens: bound (so nobody else takes it) but never listening, so a
/// connection is refused at once.
class dead_port {
 public:
  dead_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
      throw std::runtime_error(std::string{"cannot reserve a port: "} + std::strerror(errno));
    port_ = ntohs(address.sin_port);
  }
  ~dead_port() { ::close(fd_); }
  dead_port(const dead_port&) = delete;
  dead_port& operator=(const dead_port&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// --- the CLI -------------------------------------------------------------------------------------------------

using env_map = std::map<std::string, std::string>;

/// Runs the CLI with a controlled environment (HOME in the temp dir, no inherited APIKEYS_ variables)
/// and keeps every run, so that the secret checks can look at everything the CLI ever printed.
class cli_driver {
 public:
  explicit cli_driver(const temp_dir& dir) : home_(dir / "home") {}

  run_result run(const std::vector<std::string>& args, const env_map& env = {}, std::string_view input = {}) {
    env_map merged{{"HOME", home_}, {"PATH", "/usr/bin:/bin"}};
    // Sanitizer settings reach the child, so a sanitized CLI reports the way the test does.
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"})
      if (const char* value = std::getenv(name)) merged[name] = value;
    for (const auto& [name, value] : env) merged[name] = value;
    std::vector<std::string> environment;
    for (const auto& [name, value] : merged) environment.push_back(name + "=" + value);
    runs_.push_back(run_program(APIKEYS_CLI_PATH, args, std::move(environment), input));
    return runs_.back();
  }

  const std::vector<run_result>& runs() const noexcept { return runs_; }
  std::size_t last_index() const noexcept { return runs_.size() - 1; }
  const std::string& home() const noexcept { return home_; }

 private:
  std::string home_;
  std::vector<run_result> runs_;
};

env_map with(env_map base, const env_map& more) {
  for (const auto& [name, value] : more) base[name] = value;
  return base;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::size_t line_count(std::string_view text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

bool is_hex_id(std::string_view text) {
  return text.size() == 24 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_key_value(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
         });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, std::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  REQUIRE(fd >= 0);
  REQUIRE(::fchmod(fd, mode) == 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

unsigned permissions(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return static_cast<unsigned>(info.st_mode & 07777);
}

// --- reading the CLI's JSON back (simdjson, error codes only) -------------------------------------------------

struct json_key {
  std::vector<std::string> members;  // in document order
  std::string id;
  std::string name;
  bool enabled = false;
  std::optional<std::string> value;
};

std::string read_key_object(simdjson::ondemand::object object, json_key& key) {
  for (auto member : object) {
    simdjson::ondemand::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(name) != simdjson::SUCCESS)
      return "broken member";
    key.members.emplace_back(name);
    std::string_view text;
    if (name == "enabled") {
      if (field.value().get_bool().get(key.enabled) != simdjson::SUCCESS) return "enabled is not a boolean";
    } else if (name == "id" || name == "name" || name == "value") {
      if (field.value().get_string().get(text) != simdjson::SUCCESS) return std::string{name} + " is not a string";
      if (name == "id") key.id = text;
      else if (name == "name") key.name = text;
      else key.value = std::string{text};
    } else {
      return "unexpected member " + std::string{name};
    }
  }
  return {};
}

bool at_end(simdjson::ondemand::document& doc) {
  const char* where = nullptr;
  return doc.current_location().get(where) == simdjson::OUT_OF_BOUNDS;
}

// One document and a newline, the whole of stdout.
std::optional<json_key> parse_key(const std::string& out) {
  if (out.empty() || out.back() != '\n') return std::nullopt;
  const simdjson::padded_string text(std::string_view{out}.substr(0, out.size() - 1));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(text).get(doc) != simdjson::SUCCESS || doc.get_object().get(object) != simdjson::SUCCESS)
    return std::nullopt;
  json_key key;
  const std::string problem = read_key_object(object, key);
  if (!problem.empty() || !at_end(doc)) return std::nullopt;
  return key;
}

std::optional<std::vector<json_key>> parse_key_list(const std::string& out) {
  if (out.empty() || out.back() != '\n') return std::nullopt;
  const simdjson::padded_string text(std::string_view{out}.substr(0, out.size() - 1));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::array array;
  if (parser.iterate(text).get(doc) != simdjson::SUCCESS || doc.get_array().get(array) != simdjson::SUCCESS)
    return std::nullopt;
  std::vector<json_key> keys;
  for (auto element : array) {
    simdjson::ondemand::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    keys.emplace_back();
    if (!read_key_object(object, keys.back()).empty()) return std::nullopt;
  }
  if (!at_end(doc)) return std::nullopt;
  return keys;
}

/// Every string member of a flat JSON object (the session file, login's output), in document order.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_string_object(std::string_view json) {
  const simdjson::padded_string text(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(text).get(doc) != simdjson::SUCCESS || doc.get_object().get(object) != simdjson::SUCCESS)
    return std::nullopt;
  std::vector<std::pair<std::string, std::string>> members;
  for (auto member : object) {
    simdjson::ondemand::field field;
    std::string_view name;
    std::string_view value;
    if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(name) != simdjson::SUCCESS ||
        field.value().get_string().get(value) != simdjson::SUCCESS)
      return std::nullopt;
    members.emplace_back(std::string{name}, std::string{value});
  }
  if (!at_end(doc)) return std::nullopt;
  return members;
}

struct stored_session {
  std::string user_id, device_id, provider, host, access_token, refresh_token;
};

// The session file is an apikeys::file_session_store: {"version":1,"current_user_id":ID,"users":[{the six
// members, in this order}, ...]}. This reads the current user, member by member, without the library's reader.
std::optional<stored_session> read_session_file(const std::string& path) {
  const simdjson::padded_string text(read_file(path));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object top;
  if (parser.iterate(text).get(doc) != simdjson::SUCCESS || doc.get_object().get(top) != simdjson::SUCCESS) return std::nullopt;
  std::string current;
  std::optional<stored_session> found;
  std::size_t position = 0;
  for (auto member : top) {
    simdjson::ondemand::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(name) != simdjson::SUCCESS)
      return std::nullopt;
    const std::string_view order[] = {"version", "current_user_id", "users"};
    if (position >= 3 || name != order[position++]) return std::nullopt;
    if (name == "version") {
      std::uint64_t version = 0;
      if (field.value().get_uint64().get(version) != simdjson::SUCCESS || version != 1) return std::nullopt;
    } else if (name == "current_user_id") {
      std::string_view id;
      if (field.value().get_string().get(id) != simdjson::SUCCESS) return std::nullopt;
      current = std::string{id};
    } else {
      simdjson::ondemand::array users;
      if (field.value().get_array().get(users) != simdjson::SUCCESS) return std::nullopt;
      for (auto element : users) {
        simdjson::ondemand::object object;
        if (element.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
        stored_session s;
        std::string* targets[] = {&s.user_id, &s.device_id, &s.provider, &s.host, &s.access_token, &s.refresh_token};
        const std::string_view names[] = {"user_id", "device_id", "provider", "host", "access_token", "refresh_token"};
        std::size_t i = 0;
        for (auto user_member : object) {
          simdjson::ondemand::field user_field;
          std::string_view user_name;
          std::string_view value;
          if (std::move(user_member).get(user_field) != simdjson::SUCCESS ||
              user_field.unescaped_key().get(user_name) != simdjson::SUCCESS || i >= 6 || user_name != names[i] ||
              user_field.value().get_string().get(value) != simdjson::SUCCESS)
            return std::nullopt;
          *targets[i++] = std::string{value};
        }
        if (i != 6) return std::nullopt;
        if (s.user_id == current) found = s;
      }
    }
  }
  if (position != 3 || !at_end(doc)) return std::nullopt;
  return found;
}

/// What a table-mode create printed: the id and the value lines.
struct created_key {
  std::string id;
  std::string value;
};

std::optional<created_key> parse_create_table(const std::string& out, std::string_view name) {
  // id, name, enabled, value: exactly these four lines.
  if (line_count(out) != 4 || !out.starts_with("id:      ")) return std::nullopt;
  created_key key;
  key.id = out.substr(9, 24);
  const std::string expected_head = "id:      " + key.id + "\nname:    " + std::string{name} + "\nenabled: yes\nvalue:   ";
  if (!out.starts_with(expected_head)) return std::nullopt;
  key.value = out.substr(expected_head.size(), out.size() - expected_head.size() - 1);
  return key;
}

// --- secrets --------------------------------------------------------------------------------------------------

/// Secrets that must never be printed at all (passwords, tokens), and key values with the one run whose
/// stdout may hold each, exactly once.
struct secret_ledger {
  std::vector<std::string> never_printed;
  std::vector<std::pair<std::string, std::size_t>> key_values;

  void add_session(const std::string& path) {
    const auto s = read_session_file(path);
    REQUIRE(s.has_value());
    REQUIRE(s->access_token.size() > 20);
    REQUIRE(s->refresh_token.size() > 20);
    never_printed.push_back(s->access_token);
    never_printed.push_back(s->refresh_token);
  }

  void check(const std::vector<run_result>& runs) const {
    REQUIRE(!runs.empty());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto& r = runs[i];
      INFO(r.describe());
      for (const auto& s : never_printed) {
        CHECK(r.out.find(s) == std::string::npos);
        CHECK(r.err.find(s) == std::string::npos);
      }
      for (const auto& [value, create_run] : key_values) {
        CHECK(r.err.find(value) == std::string::npos);
        CHECK(count_of(r.out, value) == (i == create_run ? 1u : 0u));
      }
    }
  }
};

// The run expression is evaluated once: it starts a process.
#define CHECK_RUN(run, expected_status)                 \
  do {                                                  \
    const run_result checked_run_ = (run);              \
    INFO(checked_run_.describe());                      \
    REQUIRE_FALSE(checked_run_.timed_out);              \
    CHECK(checked_run_.status == (expected_status));    \
  } while (false)

// An error: the status, nothing on stdout, and one "apikeys: ..." line first on stderr.
#define CHECK_FAILS(run, expected_status, expected_text)                  \
  do {                                                                    \
    const run_result checked_run_ = (run);                                \
    INFO(checked_run_.describe());                                        \
    REQUIRE_FALSE(checked_run_.timed_out);                                \
    CHECK(checked_run_.status == (expected_status));                      \
    CHECK(checked_run_.out.empty());                                      \
    CHECK(checked_run_.err.starts_with("apikeys: "));                     \
    CHECK(checked_run_.err.find(expected_text) != std::string::npos);     \
  } while (false)

const std::vector<std::string> all_commands = {"login",  "login-with-key", "logout", "create", "list",
                                               "get",    "enable",         "disable", "delete", "help"};

}  // namespace

TEST_CASE("apikeys CLI: help, version and usage errors need no server") {
  temp_dir dir;
  cli_driver cli(dir);
  const env_map env{{"APIKEYS_SESSION_FILE", dir / "none.json"}};

  const run_result help = cli.run({"--help"}, env);
  CHECK_RUN(help, 0);
  CHECK(help.err.empty());
  CHECK(help.out.starts_with("usage: apikeys [options] <command> [args]\n"));
  for (const auto& command : all_commands) CHECK(help.out.find("\n  " + command + " ") != std::string::npos);
  for (std::string_view text : {"APIKEYS_BASE_URL", "APIKEYS_APP_ID", "APIKEYS_SESSION_FILE", "APIKEYS_EMAIL",
                                "APIKEYS_PASSWORD", "APIKEYS_KEY", "--json", "--session FILE", "exit status:",
                                "\n  0  success", "\n  2  usage error", "\n  3  no such key", "\n  4  not logged in",
                                "\n  5  the server could not be reached"})
    CHECK(help.out.find(text) != std::string::npos);
  for (const auto& same : std::vector<std::vector<std::string>>{{"help"}, {"-h"}, {"--json", "--help"}}) {
    const run_result again = cli.run(same, env);
    CHECK_RUN(again, 0);
    CHECK(again.out == help.out);
    CHECK(again.err.empty());
  }

  for (const auto& command : all_commands) {
    const run_result own = cli.run({command, "--help"}, env);
    CHECK_RUN(own, 0);
    CHECK(own.err.empty());
    const std::string head = command == "help" ? "usage: apikeys help" : "usage: apikeys [options] " + command;
    CHECK(own.out.starts_with(head));
    CHECK(own.out != help.out);
    for (const auto& same : std::vector<std::vector<std::string>>{{"help", command}, {"--help", command}}) {
      const run_result again = cli.run(same, env);
      CHECK_RUN(again, 0);
      CHECK(again.out == own.out);
    }
  }
  // Each page names what its command needs.
  CHECK(cli.run({"create", "--help"}, env).out.find("shows this once") != std::string::npos);
  CHECK(cli.run({"login", "--help"}, env).out.find("APIKEYS_PASSWORD") != std::string::npos);
  CHECK(cli.run({"login-with-key", "-h"}, env).out.find("APIKEYS_KEY") != std::string::npos);

  const run_result version = cli.run({"--version"}, env);
  CHECK_RUN(version, 0);
  CHECK(version.out == "apikeys " APIKEYS_VERSION_STRING "\n");

  const run_result nothing = cli.run({}, env);
  CHECK_FAILS(nothing, 2, "apikeys: no command given\n");
  CHECK(nothing.err.find("usage: apikeys") != std::string::npos);

  CHECK_FAILS(cli.run({"frobnicate"}, env), 2, "apikeys: unknown command 'frobnicate'\n");
  CHECK_FAILS(cli.run({"--frob", "list"}, env), 2, "apikeys: unknown option '--frob'\n");
  CHECK_FAILS(cli.run({"list", "--password=hunter2"}, env), 2, "unknown option '--password'\n");
  CHECK(cli.runs().back().err.find("hunter2") == std::string::npos);
  CHECK_FAILS(cli.run({"--json=yes", "list"}, env), 2, "option --json takes no value");
  CHECK_FAILS(cli.run({"list", "--app-id"}, env), 2, "option --app-id needs a value");
  CHECK_FAILS(cli.run({"--timeout", "0", "list"}, env), 2, "--timeout needs");
  CHECK_FAILS(cli.run({"--timeout", "5s", "list"}, env), 2, "--timeout needs");
  CHECK_FAILS(cli.run({"--base-url", "ftp://example.com", "list"}, env), 2, "must start with http:// or https://");
  CHECK_FAILS(cli.run({"help", "frobnicate"}, env), 2, "no such command 'frobnicate'");
  CHECK_FAILS(cli.run({"help", "list", "get"}, env), 2, "help takes at most one command name");

  for (const std::string command : {"get", "enable", "disable", "delete"})
    CHECK_FAILS(cli.run({command}, env), 2, command + " needs an ID");
  CHECK_FAILS(cli.run({"create"}, env), 2, "create needs a NAME");
  CHECK_FAILS(cli.run({"list", "extra"}, env), 2, "list takes no arguments");
  CHECK_FAILS(cli.run({"login", "alice@example.com"}, env), 2, "login takes no arguments");
  CHECK_FAILS(cli.run({"logout", "now"}, env), 2, "logout takes no arguments");
  CHECK_FAILS(cli.run({"get", "5e5e6f0abe4ae2a2c2c2d329", "x"}, env), 2, "get takes one argument");

  // A malformed id is refused before the session is looked at, and never quoted back (it might be a
  // key's value pasted in the wrong place).
  const std::string pasted_value = "Zq8LkV3pT0aWm1nB6cXyR4sD7fGhJ2uE9iO5lKj0PqW3eRtY6uIo8pAs1dFgH4jK";
  CHECK_FAILS(cli.run({"get", pasted_value}, env), 2, "get: ID must be 24 hex digits (got 64 characters)");
  CHECK(cli.runs().back().err.find(pasted_value) == std::string::npos);
  CHECK_FAILS(cli.run({"enable", "5e5e6f0abe4ae2a2c2c2d32"}, env), 2, "ID must be 24 hex digits");
  CHECK_FAILS(cli.run({"disable", "5e5e6f0abe4ae2a2c2c2d32g"}, env), 2, "ID must be 24 hex digits");
  CHECK_FAILS(cli.run({"delete", "5e5e6f0abe4ae2a2c2c2d3290"}, env), 2, "ID must be 24 hex digits");

  // Names the server would refuse are refused here, before the session is looked at.
  CHECK_FAILS(cli.run({"create", "bad name"}, env), 2, "can only contain ASCII letters, numbers, underscores, and hyphens");
  CHECK_FAILS(cli.run({"create", "na\xc3\xafve"}, env), 2, "can only contain ASCII letters");
  CHECK_FAILS(cli.run({"create", ""}, env), 2, "must not be empty");

  // Well-formed commands without a session file.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"}, {"get", "5e5e6f0abe4ae2a2c2c2d329"}, {"create", "fine-name"}, {"enable", "5e5e6f0abe4ae2a2c2c2d329"}})
    CHECK_FAILS(cli.run(args, env), 4, "not logged in (no session file at " + (dir / "none.json") + ")");
  CHECK_FAILS(cli.run({"login"}, env), 2, "logging in needs the app id");
  CHECK_FALSE(exists(dir / "none.json"));
}

TEST_CASE("apikeys CLI: every command against apikeys-emulator") {
  temp_dir dir;
  apikeys_tests::emulator_process emulator({"--app-id", std::string{app_id}, "--user", "alice@example.com:pw-alice-1", "--user",
                             "bob@example.com:pw-bob-2"});
  dead_port nowhere;
  cli_driver cli(dir);
  secret_ledger secrets;
  secrets.never_printed = {"pw-alice-1", "pw-bob-2"};

  const std::string alice_file = dir / "alice.json";
  const env_map server{{"APIKEYS_BASE_URL", emulator.base_url()}, {"APIKEYS_APP_ID", std::string{app_id}}};
  const env_map alice = with(server, {{"APIKEYS_SESSION_FILE", alice_file}});
  const env_map alice_login = with(alice, {{"APIKEYS_EMAIL", "alice@example.com"}, {"APIKEYS_PASSWORD", "pw-alice-1"}});

  // login, credentials from the environment
  const run_result login = cli.run({"--json", "login"}, alice_login);
  CHECK_RUN(login, 0);
  CHECK(login.err.empty());
  REQUIRE(exists(alice_file));
  CHECK(permissions(alice_file) == 0600);
  const auto alice_session = read_session_file(alice_file);
  REQUIRE(alice_session.has_value());
  CHECK(alice_session->provider == "local-userpass");
  CHECK(alice_session->host == emulator.base_url());
  CHECK(is_hex_id(alice_session->user_id));
  CHECK(login.out == "{\"user_id\":\"" + alice_session->user_id + "\",\"device_id\":\"" + alice_session->device_id + "\"}\n");
  const auto login_members = parse_string_object(std::string_view{login.out});
  REQUIRE(login_members.has_value());
  CHECK(login_members->size() == 2);
  secrets.add_session(alice_file);
  const std::string alice_id = alice_session->user_id;

  // an empty list
  CHECK_RUN(cli.run({"list", "--json"}, alice), 0);
  CHECK(cli.runs().back().out == "[]\n");
  CHECK_RUN(cli.run({"list"}, alice), 0);
  CHECK(cli.runs().back().out == "ID                        NAME  ENABLED\n");

  // create --json: the value on stdout, once, and nothing on stderr
  const run_result create_json = cli.run({"create", "ci-bot", "--json"}, alice);
  CHECK_RUN(create_json, 0);
  CHECK(create_json.err.empty());
  const auto ci = parse_key(create_json.out);
  REQUIRE(ci.has_value());
  CHECK(ci->members == std::vector<std::string>{"id", "name", "enabled", "value"});
  CHECK(is_hex_id(ci->id));
  CHECK(ci->name == "ci-bot");
  CHECK(ci->enabled);
  REQUIRE(ci->value.has_value());
  CHECK(is_key_value(*ci->value));
  CHECK(create_json.out == "{\"id\":\"" + ci->id + "\",\"name\":\"ci-bot\",\"enabled\":true,\"value\":\"" + *ci->value + "\"}\n");
  secrets.key_values.emplace_back(*ci->value, cli.last_index());

  // create as a table: the value on stdout once, the reminder on stderr
  const run_result create_table = cli.run({"create", "deploy"}, alice);
  CHECK_RUN(create_table, 0);
  CHECK(create_table.err == "apikeys: the key value above will not be shown again: store it now\n");
  const auto deploy = parse_create_table(create_table.out, "deploy");
  REQUIRE(deploy.has_value());
  CHECK(is_hex_id(deploy->id));
  CHECK(is_key_value(deploy->value));
  CHECK(deploy->id != ci->id);
  secrets.key_values.emplace_back(deploy->value, cli.last_index());

  // list, both ways
  const run_result list_json = cli.run({"--json", "list"}, alice);
  CHECK_RUN(list_json, 0);
  CHECK(list_json.err.empty());
  const auto listed = parse_key_list(list_json.out);
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].members == std::vector<std::string>{"id", "name", "enabled"});
  CHECK((*listed)[0].id == ci->id);
  CHECK((*listed)[0].name == "ci-bot");
  CHECK((*listed)[0].enabled);
  CHECK((*listed)[1].members == std::vector<std::string>{"id", "name", "enabled"});
  CHECK((*listed)[1].id == deploy->id);
  CHECK((*listed)[1].name == "deploy");
  CHECK((*listed)[1].enabled);
  CHECK_RUN(cli.run({"list"}, alice), 0);
  CHECK(cli.runs().back().out == "ID                        NAME    ENABLED\n" + ci->id + "  ci-bot  yes\n" + deploy->id +
                                     "  deploy  yes\n");

  // get, both ways
  const run_result get_json = cli.run({"get", ci->id, "--json"}, alice);
  CHECK_RUN(get_json, 0);
  const auto got = parse_key(get_json.out);
  REQUIRE(got.has_value());
  CHECK(got->members == std::vector<std::string>{"id", "name", "enabled"});
  CHECK(got->id == ci->id);
  CHECK(got->name == "ci-bot");
  CHECK(got->enabled);
  CHECK_RUN(cli.run({"get", deploy->id}, alice), 0);
  CHECK(cli.runs().back().out == "id:      " + deploy->id + "\nname:    deploy\nenabled: yes\n");
  // ids are accepted in either case
  std::string upper = ci->id;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return c >= 'a' && c <= 'f' ? static_cast<char>(c - 32) : c; });
  CHECK_RUN(cli.run({"get", upper, "--json"}, alice), 0);
  CHECK(cli.runs().back().out == get_json.out);

  // disable and enable, visible in get and list
  CHECK_RUN(cli.run({"disable", ci->id}, alice), 0);
  CHECK(cli.runs().back().out == "disabled API key " + ci->id + "\n");
  CHECK_RUN(cli.run({"get", ci->id, "--json"}, alice), 0);
  CHECK(cli.runs().back().out == "{\"id\":\"" + ci->id + "\",\"name\":\"ci-bot\",\"enabled\":false}\n");
  CHECK_RUN(cli.run({"list"}, alice), 0);
  CHECK(cli.runs().back().out.find(ci->id + "  ci-bot  no\n") != std::string::npos);
  CHECK(cli.runs().back().out.find(deploy->id + "  deploy  yes\n") != std::string::npos);
  CHECK_RUN(cli.run({"--json", "disable", ci->id}, alice), 0);  // again: a no-op that succeeds
  CHECK(cli.runs().back().out == "{\"id\":\"" + ci->id + "\",\"enabled\":false}\n");
  CHECK_RUN(cli.run({"--json", "enable", ci->id}, alice), 0);
  CHECK(cli.runs().back().out == "{\"id\":\"" + ci->id + "\",\"enabled\":true}\n");
  CHECK_RUN(cli.run({"get", ci->id}, alice), 0);
  CHECK(cli.runs().back().out == "id:      " + ci->id + "\nname:    ci-bot\nenabled: yes\n");

  // server-side refusals and client-side ones, with a session
  const run_result duplicate = cli.run({"create", "ci-bot"}, alice);
  CHECK_FAILS(duplicate, 1, "APIKeyAlreadyExists");
  CHECK(line_count(duplicate.err) == 1);
  CHECK_FAILS(cli.run({"create", "bad name"}, alice), 2, "can only contain ASCII letters");
  CHECK_FAILS(cli.run({"get", "not-an-id"}, alice), 2, "ID must be 24 hex digits");
  const std::string missing_id = "5e5e6f0abe4ae2a2c2c2d329";
  CHECK_FAILS(cli.run({"get", missing_id}, alice), 3, "apikeys: no key with id " + missing_id + "\n");
  CHECK_FAILS(cli.run({"enable", missing_id}, alice), 3, "APIKeyNotFound");

  // login-with-key: the device acts as the key's owner
  const std::string key_file = dir / "by-key.json";
  const env_map by_key = with(server, {{"APIKEYS_SESSION_FILE", key_file}});
  const run_result key_login = cli.run({"login-with-key", "--json"}, with(by_key, {{"APIKEYS_KEY", deploy->value}}));
  CHECK_RUN(key_login, 0);
  CHECK(key_login.err.empty());
  REQUIRE(exists(key_file));
  CHECK(permissions(key_file) == 0600);
  const auto key_session = read_session_file(key_file);
  REQUIRE(key_session.has_value());
  CHECK(key_session->provider == "api-key");
  CHECK(key_session->user_id == alice_id);
  CHECK(key_login.out == "{\"user_id\":\"" + alice_id + "\",\"device_id\":\"" + key_session->device_id + "\"}\n");
  secrets.add_session(key_file);
  CHECK_RUN(cli.run({"get", ci->id, "--json"}, by_key), 0);
  CHECK(cli.runs().back().out == get_json.out);
  CHECK_RUN(cli.run({"list", "--json"}, by_key), 0);
  CHECK(cli.runs().back().out == list_json.out);
  // the server will not let a session delete the key it logged in with; the session lives on
  CHECK_FAILS(cli.run({"delete", deploy->id}, by_key), 4, "cannot delete the API key in use");
  CHECK(exists(key_file));
  CHECK_RUN(cli.run({"get", deploy->id}, by_key), 0);

  // delete, then everything about that key is "not found" except delete itself
  CHECK_RUN(cli.run({"delete", ci->id}, alice), 0);
  CHECK(cli.runs().back().out == "deleted API key " + ci->id + "\n");
  CHECK_FAILS(cli.run({"get", ci->id}, alice), 3, "apikeys: no key with id " + ci->id + "\n");
  CHECK_FAILS(cli.run({"get", ci->id, "--json"}, alice), 3, "no key with id");
  CHECK_FAILS(cli.run({"enable", ci->id}, alice), 3, "API key not found");
  CHECK_FAILS(cli.run({"disable", ci->id}, alice), 3, "API key not found");
  CHECK_RUN(cli.run({"delete", ci->id, "--json"}, alice), 0);
  CHECK(cli.runs().back().out == "{\"id\":\"" + ci->id + "\",\"deleted\":true}\n");
  CHECK_RUN(cli.run({"list", "--json"}, alice), 0);
  const auto after_delete = parse_key_list(cli.runs().back().out);
  REQUIRE(after_delete.has_value());
  REQUIRE(after_delete->size() == 1);
  CHECK((*after_delete)[0].id == deploy->id);

  // a deleted key's value no longer logs in, nor does a disabled one's
  CHECK_FAILS(cli.run({"login-with-key"}, with(by_key, {{"APIKEYS_SESSION_FILE", dir / "gone.json"}}), *ci->value + "\n"),
              4, "AuthError");
  CHECK_FALSE(exists(dir / "gone.json"));
  CHECK_RUN(cli.run({"disable", deploy->id}, alice), 0);
  CHECK_FAILS(cli.run({"login-with-key"}, with(by_key, {{"APIKEYS_SESSION_FILE", dir / "off.json"}, {"APIKEYS_KEY", deploy->value}})),
              4, "AuthError");
  CHECK_FALSE(exists(dir / "off.json"));
  CHECK_RUN(cli.run({"enable", deploy->id}, alice), 0);

  // logout, then the key commands need a login; a revoked session brought back is "expired"
  const std::string saved_copy = read_file(alice_file);
  const run_result logout = cli.run({"logout"}, alice);
  CHECK_RUN(logout, 0);
  CHECK(logout.out == "logged out\n");
  CHECK(logout.err.empty());
  CHECK_FALSE(exists(alice_file));
  CHECK_FAILS(cli.run({"list"}, alice), 4, "not logged in");
  CHECK_FAILS(cli.run({"create", "another"}, alice), 4, "not logged in");
  const run_result logout_again = cli.run({"logout", "--json"}, alice);
  CHECK_RUN(logout_again, 0);
  CHECK(logout_again.out == "{\"logged_out\":false}\n");
  write_file(alice_file, saved_copy, 0600);
  const run_result expired = cli.run({"list"}, alice);
  CHECK_FAILS(expired, 4, "apikeys: session expired; log in again (");
  CHECK(expired.err.find("InvalidSession") != std::string::npos);
  CHECK(line_count(expired.err) == 1);
  CHECK_FALSE(exists(alice_file));

  // wrong password: refused, and no session file
  CHECK_FAILS(cli.run({"login"}, with(alice_login, {{"APIKEYS_PASSWORD", "not-the-password"}})), 4, "invalid username/password");
  CHECK_FALSE(exists(alice_file));
  CHECK_FAILS(cli.run({"login"}, with(alice_login, {{"APIKEYS_EMAIL", "nobody@example.com"}})), 4, "AuthError");

  // login with the credentials as lines on stdin: bob has his own, empty, key list
  const std::string bob_file = dir / "bob.json";
  const env_map bob = with(server, {{"APIKEYS_SESSION_FILE", bob_file}});
  const run_result bob_login = cli.run({"login"}, bob, "bob@example.com\npw-bob-2\n");
  CHECK_RUN(bob_login, 0);
  CHECK(bob_login.err.empty());
  REQUIRE(exists(bob_file));
  CHECK(permissions(bob_file) == 0600);
  const auto bob_session = read_session_file(bob_file);
  REQUIRE(bob_session.has_value());
  CHECK(bob_session->user_id != alice_id);
  CHECK(bob_login.out == "logged in as user " + bob_session->user_id + " (device " + bob_session->device_id +
                             ")\nsession saved in " + bob_file + "\n");
  secrets.add_session(bob_file);
  CHECK_RUN(cli.run({"list", "--json"}, bob), 0);
  CHECK(cli.runs().back().out == "[]\n");
  CHECK_FAILS(cli.run({"get", deploy->id}, bob), 3, "no key with id");  // alice's key is not bob's
  // the email from the environment and the password from stdin (CRLF line ends are fine)
  CHECK_RUN(cli.run({"login", "--json"}, with(alice, {{"APIKEYS_EMAIL", "alice@example.com"}}), "pw-alice-1\r\n"), 0);
  secrets.add_session(alice_file);
  CHECK_RUN(cli.run({"get", deploy->id, "--json"}, alice), 0);
  // stdin that ends before the password
  CHECK_FAILS(cli.run({"login"}, with(server, {{"APIKEYS_SESSION_FILE", dir / "eof.json"}}), "alice@example.com\n"), 2,
              "no password given");
  CHECK_FALSE(exists(dir / "eof.json"));

  // a flag wins over its environment variable
  const env_map wrong_env = with(alice_login, {{"APIKEYS_BASE_URL", nowhere.url()}, {"APIKEYS_APP_ID", "no-such-app"},
                                               {"APIKEYS_SESSION_FILE", dir / "env.json"}});
  CHECK_RUN(cli.run({"--base-url", emulator.base_url(), "--app-id", std::string{app_id}, "--session", dir / "flag.json", "login"},
                    wrong_env),
            0);
  CHECK(exists(dir / "flag.json"));
  CHECK_FALSE(exists(dir / "env.json"));
  secrets.add_session(dir / "flag.json");
  CHECK_FAILS(cli.run({"login", "--base-url=" + nowhere.url()}, alice_login), 5, "connection failed");
  CHECK_FAILS(cli.run({"login", "--app-id=no-such-app"}, alice_login), 1, "no-such-app");

  // the default session file: private directories and file, whatever the umask
  const env_map no_file = with(server, {{"APIKEYS_EMAIL", "alice@example.com"}, {"APIKEYS_PASSWORD", "pw-alice-1"}});
  {
    const mode_t old_mask = ::umask(0);
    const run_result default_login = cli.run({"login"}, no_file);
    ::umask(old_mask);
    CHECK_RUN(default_login, 0);
  }
  const std::string default_file = cli.home() + "/.config/apikeys/session.json";
  REQUIRE(exists(default_file));
  CHECK(permissions(default_file) == 0600);
  CHECK(permissions(cli.home() + "/.config/apikeys") == 0700);
  CHECK(permissions(cli.home() + "/.config") == 0700);
  secrets.add_session(default_file);
  CHECK_RUN(cli.run({"get", deploy->id, "--json"}, server), 0);
  const std::string xdg = dir / "xdg";
  CHECK_RUN(cli.run({"login"}, with(no_file, {{"XDG_CONFIG_HOME", xdg}})), 0);
  REQUIRE(exists(xdg + "/apikeys/session.json"));
  CHECK(permissions(xdg + "/apikeys/session.json") == 0600);
  secrets.add_session(xdg + "/apikeys/session.json");
  CHECK_RUN(cli.run({"logout"}, with(server, {{"XDG_CONFIG_HOME", xdg}})), 0);
  CHECK_FALSE(exists(xdg + "/apikeys/session.json"));
  CHECK(exists(default_file));

  CHECK(emulator.stop() == 0);
  secrets.check(cli.runs());
}

TEST_CASE("apikeys CLI: -v logs responses and sessions to stderr, -vv every event, never a secret") {
  temp_dir dir;
  apikeys_tests::emulator_process emulator({"--app-id", std::string{app_id}, "--user", "carol@example.com:pw-carol-3"});
  cli_driver cli(dir);
  secret_ledger secrets;
  secrets.never_printed = {"pw-carol-3"};
  const std::string file = dir / "carol.json";
  const env_map carol{{"APIKEYS_BASE_URL", emulator.base_url()}, {"APIKEYS_APP_ID", std::string{app_id}},
                      {"APIKEYS_SESSION_FILE", file}};
  const std::string keys_route = "route=/api/client/v2.0/auth/api_keys";

  // -vv: every event, the connection's included; stdout is as without it.
  const run_result login =
      cli.run({"-vv", "--json", "login"}, with(carol, {{"APIKEYS_EMAIL", "carol@example.com"}, {"APIKEYS_PASSWORD", "pw-carol-3"}}));
  CHECK_RUN(login, 0);
  CHECK(login.out.starts_with("{\"user_id\":"));
  CHECK(login.err.starts_with(fmt::format("apikeys debug request_started method=GET route=/api/client/v2.0/app/{}/location\n", app_id)));
  CHECK(count_of(login.err, "apikeys trace connect host=") == 1);
  CHECK(count_of(login.err, "apikeys trace connection_reused host=") == 2);  // the log in, then its profile
  CHECK(count_of(login.err, "apikeys info response method=GET route=/api/client/v2.0/auth/profile status=200 ") == 1);
  CHECK(count_of(login.err, "apikeys info location_resolved host=" + emulator.base_url() + "\n") == 1);
  CHECK(count_of(login.err, fmt::format("apikeys info response method=POST route=/api/client/v2.0/app/{}/auth/providers/local-userpass/login status=200 ", app_id)) == 1);
  for (std::size_t at = 0; at < login.err.size(); at = login.err.find('\n', at) + 1) CHECK(login.err.compare(at, 8, "apikeys ") == 0);
  secrets.add_session(file);

  // -v: info and above only: the response, no request_started, no connection.
  const run_result created = cli.run({"create", "logged", "--json", "--verbose"}, carol);
  CHECK_RUN(created, 0);
  const auto key = parse_key(created.out);
  REQUIRE(key.has_value());
  REQUIRE(key->value.has_value());
  secrets.key_values.emplace_back(*key->value, cli.last_index());
  CHECK(created.err.starts_with("apikeys info response method=POST " + keys_route + " status=201 duration_us="));
  CHECK(line_count(created.err) == 1);

  // Errors are logged too (a 409 at warn), before the error line.
  const run_result duplicate = cli.run({"-v", "create", "logged"}, carol);
  CHECK_RUN(duplicate, 1);
  CHECK(duplicate.err.starts_with("apikeys warn response method=POST " + keys_route + " status=409 "));
  CHECK(duplicate.err.find("\napikeys: ") != std::string::npos);

  CHECK_RUN(cli.run({"-v", "-v", "get", key->id}, carol), 0);
  CHECK(count_of(cli.runs().back().err, "apikeys debug request_started method=GET " + keys_route + "/" + key->id + "\n") == 1);

  const run_result out = cli.run({"logout", "-v"}, carol);
  CHECK_RUN(out, 0);
  CHECK(out.err.find("apikeys info response method=DELETE route=/api/client/v2.0/auth/session status=204 ") == 0);
  CHECK(out.err.ends_with("apikeys info session_ended why=logged out\n"));

  CHECK_FAILS(cli.run({"--verbose=2", "list"}, carol), 2, "option --verbose takes no value");
  secrets.check(cli.runs());
}

TEST_CASE("apikeys CLI: unreachable servers and unusable session files") {
  temp_dir dir;
  dead_port nowhere;
  cli_driver cli(dir);
  const std::string file = dir / "session.json";
  const env_map env{{"APIKEYS_BASE_URL", nowhere.url()}, {"APIKEYS_APP_ID", std::string{app_id}},
                    {"APIKEYS_SESSION_FILE", file}};

  // nothing listens: status 5, and no session file
  CHECK_FAILS(cli.run({"login"}, with(env, {{"APIKEYS_EMAIL", "alice@example.com"}, {"APIKEYS_PASSWORD", "pw-alice-1"}})), 5,
              "connection failed");
  CHECK_FAILS(cli.run({"login-with-key"}, env, "Zq8LkV3pT0aWm1nB6cXyR4sD7fGhJ2uE9iO5lKj0PqW3eRtY6uIo8pAs1dFgH4jK\n"), 5,
              "connection failed");
  CHECK_FALSE(exists(file));

  // a saved session whose host has gone: status 5, and the session is kept for when it is back
  const std::string session_json = "{\"user_id\":\"u1\",\"device_id\":\"d1\",\"provider\":\"local-userpass\",\"host\":\"" +
                                   nowhere.url() + "\",\"access_token\":\"acc.ess.token\",\"refresh_token\":\"ref.resh.token\"}";
  write_file(file, session_json, 0600);
  CHECK_FAILS(cli.run({"list"}, env), 5, "connection failed");
  CHECK_FAILS(cli.run({"get", "5e5e6f0abe4ae2a2c2c2d329"}, env), 5, "connection failed");
  CHECK_FAILS(cli.run({"--timeout", "3", "create", "new-key"}, env), 5, "connection failed");
  CHECK(exists(file));
  // readable by others: a warning, then the same failure
  ::chmod(file.c_str(), 0644);
  const run_result loose = cli.run({"list"}, env);
  CHECK_FAILS(loose, 5, "connection failed");
  CHECK(loose.err.find("apikeys: warning: other users may read the session file " + file) != std::string::npos);
  ::chmod(file.c_str(), 0600);
  // logout removes the file even though the server could not be told
  const run_result logout = cli.run({"logout"}, env);
  CHECK_FAILS(logout, 5, "the session file was removed, but the server may accept the session until it expires");
  CHECK_FALSE(exists(file));

  // files that are not sessions
  for (const std::string& bad : {std::string{"{not json"}, std::string{"[]"}, std::string{"{\"user_id\":\"u1\"}"},
                                 session_json + "trailing", std::string{"{\"user_id\":7}"}}) {
    write_file(file, bad, 0600);
    CHECK_FAILS(cli.run({"list"}, env), 4, "the session file " + file + " is not valid");
  }
  const run_result forget = cli.run({"logout"}, env);
  CHECK_RUN(forget, 0);
  CHECK_FALSE(exists(file));
  CHECK(forget.err.find("is not valid") != std::string::npos);

  // no credentials at all, with stdin at its end
  CHECK_FAILS(cli.run({"login"}, env), 2, "no email given: set APIKEYS_EMAIL");
  CHECK_FAILS(cli.run({"login-with-key"}, env), 2, "no API key given: set APIKEYS_KEY");
  CHECK_FAILS(cli.run({"login"}, with(env, {{"APIKEYS_EMAIL", "alice@example.com"}}), "\n"), 2, "the password is empty");
  CHECK_FALSE(exists(file));

  for (const auto& r : cli.runs()) {
    INFO(r.describe());
    for (std::string_view secret : {"pw-alice-1", "acc.ess.token", "ref.resh.token", "Zq8LkV3pT0aWm1nB6cXyR4sD7fGh"}) {
      CHECK(r.out.find(secret) == std::string::npos);
      CHECK(r.err.find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("apikeys CLI: two users in one session file, and a second login of the same user") {
  temp_dir dir;
  apikeys_tests::emulator_process emulator({"--app-id", std::string{app_id}, "--user", "alice@example.com:pw-alice-1", "--user",
                                            "bob@example.com:pw-bob-2"});
  cli_driver cli(dir);
  secret_ledger secrets;
  secrets.never_printed = {"pw-alice-1", "pw-bob-2"};
  const std::string file = dir / "shared.json";
  const env_map env{{"APIKEYS_BASE_URL", emulator.base_url()}, {"APIKEYS_APP_ID", std::string{app_id}},
                    {"APIKEYS_SESSION_FILE", file}};

  CHECK_RUN(cli.run({"login"}, with(env, {{"APIKEYS_EMAIL", "alice@example.com"}, {"APIKEYS_PASSWORD", "pw-alice-1"}})), 0);
  const auto alice = read_session_file(file);
  REQUIRE(alice.has_value());
  secrets.add_session(file);
  CHECK_RUN(cli.run({"create", "alices-key"}, env), 0);

  // alice again: the same user in the file, with new tokens (the upsert)
  CHECK_RUN(cli.run({"login"}, with(env, {{"APIKEYS_EMAIL", "alice@example.com"}, {"APIKEYS_PASSWORD", "pw-alice-1"}})), 0);
  const auto alice_again = read_session_file(file);
  REQUIRE(alice_again.has_value());
  CHECK(alice_again->user_id == alice->user_id);
  CHECK(alice_again->refresh_token != alice->refresh_token);
  secrets.add_session(file);
  CHECK(read_file(file).find(alice->refresh_token) == std::string::npos);

  // bob joins the file and becomes the user the key commands act as
  CHECK_RUN(cli.run({"login"}, with(env, {{"APIKEYS_EMAIL", "bob@example.com"}, {"APIKEYS_PASSWORD", "pw-bob-2"}})), 0);
  const auto bob = read_session_file(file);
  REQUIRE(bob.has_value());
  CHECK(bob->user_id != alice->user_id);
  secrets.add_session(file);
  CHECK(read_file(file).find(alice_again->refresh_token) != std::string::npos);
  CHECK(permissions(file) == 0600);
  CHECK_RUN(cli.run({"list", "--json"}, env), 0);
  CHECK(cli.runs().back().out == "[]\n");

  // logout ends bob's session; alice's, still in the file, is current again
  const run_result bob_out = cli.run({"logout"}, env);
  CHECK_RUN(bob_out, 0);
  CHECK(bob_out.out == "logged out\nthe key commands now act as user " + alice->user_id + " (device " + alice_again->device_id + ")\n");
  const auto left = read_session_file(file);
  REQUIRE(left.has_value());
  CHECK(left->user_id == alice->user_id);
  CHECK(read_file(file).find(bob->refresh_token) == std::string::npos);
  CHECK_RUN(cli.run({"list"}, env), 0);
  CHECK(cli.runs().back().out.find("alices-key") != std::string::npos);
  const run_result alice_out = cli.run({"logout", "--json"}, env);
  CHECK_RUN(alice_out, 0);
  CHECK(alice_out.out == "{\"logged_out\":true}\n");
  CHECK_FALSE(exists(file));

  CHECK(emulator.stop() == 0);
  secrets.check(cli.runs());
}
