// apikeys tests: the secret-leak harness: the seed's story and section 5's error rows through the library, the
// emulator process, the examples and the CLI, with every captured output searched for secrets.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/detail/exchange.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/transport/httplib.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../integration/support/emulator_process.hpp"
#include "../unit/support/names.hpp"

#if !defined(APIKEYS_CLI_PATH) || !defined(APIKEYS_QUICKSTART_PATH) || !defined(APIKEYS_CUSTOM_TRANSPORT_PATH) || \
    !defined(APIKEYS_COROUTINES_PATH)
#error "tests/leak/CMakeLists.txt defines the paths of the programs this harness runs"
#endif

extern char** environ;

namespace {

using namespace apikeys_tests::names;
using namespace apikeys::literals;

constexpr object_id never_issued = "000000000000000000000001"_oid;

// --- what was captured, and what to look for ----------------------------------------------------------------

struct output {
  std::string source;
  std::string text;
  std::string deliberate;  // a key value this output prints on purpose (create's answer), exactly once
};

struct finding {
  std::string source;
  std::string what;
};

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_base64url(char c) { return is_alnum(c) || c == '-' || c == '_'; }

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The first run of exactly 64 letters and digits (the emulator's key value shape), or empty.
std::string first_key_shaped(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (!is_alnum(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && is_alnum(text[j])) ++j;
    if (j - i == 64) return std::string{text.substr(i, 64)};
    i = j;
  }
  return {};
}

class leak_harness {
 public:
  void capture(std::string source, std::string text, std::string deliberate = {}) {
    outputs_.push_back({std::move(source), std::move(text), std::move(deliberate)});
  }
  void learn(std::string_view secret) {
    if (secret.size() < 6) return;
    for (const auto& known : secrets_)
      if (known == secret) return;
    secrets_.emplace_back(secret);
  }
  // How many outputs came from programs run as processes, and how many bytes were inspected in all.
  std::size_t process_outputs() const {
    std::size_t n = 0;
    for (const auto& o : outputs_) n += o.source.find("(std") != std::string::npos ? 1 : 0;
    return n;
  }
  std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& o : outputs_) n += o.text.size();
    return n;
  }
  std::size_t output_count() const { return outputs_.size(); }
  std::size_t secret_count() const { return secrets_.size(); }
  std::vector<output>& outputs() { return outputs_; }

  /// Every secret the run knew, whole or by a token's signature, and everything shaped like a secret: a
  /// JWT (`eyJ...` in three base64url parts) or a run of 40 or more letters and digits (a key value is 64).
  std::vector<finding> scan() const {
    std::vector<finding> found;
    for (const output& o : outputs_) {
      std::string text = o.text;
      if (!o.deliberate.empty()) {
        const std::size_t times = count_of(text, o.deliberate);
        if (times != 1) found.push_back({o.source, fmt::format("the deliberate key value is printed {} times", times)});
        if (const auto at = text.find(o.deliberate); at != std::string::npos) text.replace(at, o.deliberate.size(), "<deliberate>");
      }
      for (std::size_t i = 0; i < secrets_.size(); ++i) {
        const std::string& s = secrets_[i];
        if (text.find(s) != std::string::npos) found.push_back({o.source, fmt::format("known secret #{} ({} characters)", i, s.size())});
        const std::size_t dot = s.rfind('.');
        if (dot != std::string::npos && s.size() - dot > 20 && text.find(s.substr(dot + 1)) != std::string::npos)
          found.push_back({o.source, fmt::format("the signature of known token #{}", i)});
      }
      for (std::size_t at = text.find("eyJ"); at != std::string::npos; at = text.find("eyJ", at + 1)) {
        std::size_t j = at;
        int parts = 0;
        for (;;) {
          const std::size_t part_start = j;
          while (j < text.size() && is_base64url(text[j])) ++j;
          if (j == part_start) break;
          ++parts;
          if (parts == 3 || j >= text.size() || text[j] != '.') break;
          ++j;
        }
        if (parts == 3) found.push_back({o.source, "a JWT-shaped token"});
      }
      for (std::size_t i = 0; i < text.size();) {
        std::size_t j = i;
        while (j < text.size() && is_alnum(text[j])) ++j;
        if (j - i >= 40) found.push_back({o.source, fmt::format("a run of {} letters and digits", j - i)});
        i = j == i ? i + 1 : j;
      }
    }
    return found;
  }

 private:
  std::vector<output> outputs_;
  std::vector<std::string> secrets_;
};

// --- (a) the library in this process: everything it gives back, printed both ways ---------------------------

class printer {
 public:
  printer(leak_harness& harness, std::string source) : harness_(harness), source_(std::move(source)) {}

  template <class T>
  void print(const T& value) {
    std::ostringstream os;
    os << value;
    harness_.capture(source_, fmt::format("{}\n", value) + os.str());
  }
  void print_error(const api_error& e) {
    print(e);
    harness_.capture(source_, e.message + "\n" + e.context + "\n" + e.server_code + "\n" + e.link + "\n" + e.error_code().message());
  }
  template <class R>
  void print_outcome(const R& r) {
    if (!r) print_error(r.error());
  }

 private:
  leak_harness& harness_;
  std::string source_;
};

template <class Transport>
class library_run {
  using app_type = apikeys::basic_app_client<Transport&, apikeys::inline_executor, apikeys::return_result>;

 public:
  library_run(Transport& transport, leak_harness& harness, std::string source, const std::string& base_url,
              const std::string& app_id)
      : transport_(transport),
        harness_(harness),
        source_(source),
        out_(harness, std::move(source)),
        app_(transport, config(base_url, app_id, log_)) {}

  // Every event of every call (the app's and, inherited, its key clients') at trace level, one line each
  // as fmt_log_sink writes it, into `log`: captured as one more output when the story is over.
  static apikeys::app_config config(const std::string& base_url, const std::string& app_id, const std::shared_ptr<std::string>& log) {
    apikeys::app_config c;
    c.base_url = base_url;
    c.app_id = app_id;
    c.timeout = std::chrono::milliseconds{10'000};
    c.logger = apikeys::log_sink([log](const apikeys::log_event& e) { log->append(fmt::format("{}\n", e)); },
                                 apikeys::log_level::trace);
    return c;
  }

  std::shared_ptr<session> log_in(const credentials& creds) {
    out_.print(creds);
    auto r = app_.log_in(creds);
    REQUIRE(r.has_value());
    learn(**r);
    out_.print(**r);
    return *r;
  }

  void learn(const session& s) {
    harness_.learn(s.access_token().reveal());
    harness_.learn(s.refresh_token().reveal());
  }

  // A request the client would never send (it checks names first, and always sends a well-formed
  // bearer), sent as it is; the answer is classified and printed as an error.
  void raw(http_method method, const std::string& host, const std::string& path, std::string body,
           std::optional<std::string> authorization) {
    http_request r;
    r.method = method;
    r.url = host + "/api/client/v2.0" + path;
    r.headers = {{"Accept", "application/json"}, {"Content-Type", "application/json;charset=utf-8"}};
    if (authorization) r.headers.push_back({"Authorization", *authorization});
    r.body = std::move(body);
    r.timeout = std::chrono::milliseconds{10'000};
    out_.print(r);
    auto sent = apikeys::detail::send(transport_, r);
    REQUIRE(sent.has_value());
    out_.print(*sent);
    const auto error = apikeys::classify_response(*sent);
    REQUIRE(error.has_value());
    out_.print_error(*error);
    ++rows_;
  }

  template <class Call>
  void expect_throw(Call&& call) {
    try {
      call();
      FAIL("expected an api_exception");
    } catch (const apikeys::api_exception& ex) {
      out_.print(ex);
      harness_.capture("api_exception::what", ex.what());
    }
  }

  // The seed's story, then every row of section 5.
  void run(std::string_view email, std::string_view password) {
    harness_.learn(password);
    const auto user = log_in(credentials::email_password(email, password));
    const std::string host = user->host();
    auto keys = app_.api_keys(user);
    auto throwing = app_.template api_keys<apikeys::throw_on_error>(user);

    auto made = keys.create("someKeyName");
    REQUIRE(made.has_value());
    REQUIRE(made->value.has_value());
    harness_.learn(made->value->reveal());
    out_.print(*made);
    out_.print(*made->value);
    const object_id id = made->id;
    auto fetched = keys.fetch(id);
    REQUIRE((fetched && *fetched));
    out_.print(**fetched);
    auto all = keys.fetch_all();
    REQUIRE(all.has_value());
    for (const auto& k : *all) out_.print(k);
    CHECK(keys.disable(id).has_value());
    CHECK(keys.enable(id).has_value());
    CHECK(keys.enable(id).has_value());  // section 5: enabling an enabled key is a no-op
    CHECK(keys.disable(id).has_value());
    CHECK(keys.disable(id).has_value());

    // A disabled key logs no one in; enabled, it logs a second device in as its owner.
    auto refused = app_.log_in(credentials::api_key(*made->value));
    REQUIRE_FALSE(refused.has_value());
    out_.print_error(refused.error());
    CHECK(keys.enable(id).has_value());
    const auto device = log_in(credentials::api_key(*made->value));
    CHECK(device->user_id() == user->user_id());
    auto refreshed = app_.refresh(device);
    CHECK(refreshed.has_value());
    learn(*device);
    auto profile = app_.profile(device);
    CHECK(profile.has_value());

    // Section 5, row by row.
    auto device_keys = app_.api_keys(device);
    auto in_use = device_keys.remove(id);  // deleting the key in use
    REQUIRE_FALSE(in_use.has_value());
    out_.print_error(in_use.error());
    for (auto r : {keys.enable(never_issued), keys.disable(never_issued)}) out_.print_outcome(r);  // not found
    CHECK(keys.fetch(never_issued).has_value());
    CHECK(keys.remove(never_issued).has_value());
    expect_throw([&] { throwing.enable(never_issued); });
    raw(http_method::post, host, "/auth/api_keys", R"({"name":"bad name"})", bearer(*user));  // name rules
    raw(http_method::post, host, "/auth/api_keys", R"({"name":""})", bearer(*user));          // empty name
    out_.print_outcome(keys.create("bad name"));                                              // refused unsent
    auto duplicate = keys.create("someKeyName");
    REQUIRE_FALSE(duplicate.has_value());
    out_.print_error(duplicate.error());
    expect_throw([&] { throwing.create("someKeyName"); });
    std::vector<object_id> filler;
    for (int i = 0; i < 25; ++i) {  // the 21st key
      auto more = keys.create(fmt::format("filler{}", i));
      if (!more) {
        out_.print_error(more.error());
        CHECK(more.error().code == errc::invalid_parameter);
        break;
      }
      harness_.learn(more->value->reveal());
      filler.push_back(more->id);
    }
    CHECK(filler.size() == 19);
    for (const auto& f : filler) CHECK(keys.remove(f).has_value());
    const auto anonymous = log_in(credentials::anonymous());
    auto anonymous_keys = app_.api_keys(anonymous);
    out_.print_outcome(anonymous_keys.create("anon"));  // anonymous users
    out_.print_outcome(anonymous_keys.fetch_all());
    raw(http_method::get, host, "/auth/api_keys", {}, std::nullopt);                 // no Authorization
    raw(http_method::get, host, "/auth/api_keys", {}, std::string{"Bearer "});       // empty bearer
    raw(http_method::get, host, "/auth/api_keys", {}, std::string{"Bearer abc.def"});  // malformed
    raw(http_method::get, host, "/auth/api_keys", {}, access_bearer(*user));         // access token as refresh
    raw(http_method::get, host, "/auth/profile", {}, bearer(*user));                 // and the reverse
    raw(http_method::get, host, "/auth/api_keys/not-an-id", {}, bearer(*user));       // id not 24 hex
    raw(http_method::post, host, "/auth/api_keys", "not json", bearer(*user));       // body not JSON
    raw(http_method::post, host, "/auth/api_keys", "[1,2]", bearer(*user));          // body not an object
    // A revoked session: log out, then the old refresh token, raw and through a session that still has it.
    const std::string old_refresh = bearer(*device);
    const auto old_tokens = std::make_shared<session>(device->user_id(), device->device_id(), device->provider(), device->host(),
                                                      device->access_token(), device->refresh_token());
    out_.print_outcome(app_.log_out(device));
    out_.print(*device);
    raw(http_method::get, host, "/auth/api_keys", {}, old_refresh);
    auto revoked_keys = app_.api_keys(old_tokens);
    out_.print_outcome(revoked_keys.fetch_all());
    out_.print(*old_tokens);
    out_.print_outcome(revoked_keys.fetch_all());  // now refused unsent: not logged in
    out_.print_outcome(app_.refresh(old_tokens));
    // The key deleted, then logging in with it; and a key value nobody issued.
    CHECK(keys.remove(id).has_value());
    auto gone = keys.fetch(id);
    CHECK((gone && !*gone));
    out_.print_outcome(app_.log_in(credentials::api_key(*made->value)));
    out_.print_outcome(app_.log_in(credentials::api_key("no-such-key")));
    out_.print_outcome(app_.log_in(credentials::email_password(email, "wrong-password-9")));
    out_.print_outcome(app_.register_user(email, "another-password-8"));
    harness_.learn("wrong-password-9");
    harness_.learn("another-password-8");
    expect_throw([&] { app_.template api_keys<apikeys::throw_on_error>(old_tokens).create("late"); });
    out_.print(*user);
    out_.print_outcome(app_.log_out(user));
    out_.print(*user);

    // The log saw the whole story: every call, the errors, the lookup, the sessions that ended.
    const std::string& log = *log_;
    CHECK(count_of(log, "apikeys debug request_started ") > 60);
    CHECK(count_of(log, "apikeys debug request_started ") == count_of(log, " response method="));
    CHECK(count_of(log, "apikeys info location_resolved host=") == 1);
    CHECK(count_of(log, "apikeys warn response method=POST route=/api/client/v2.0/auth/api_keys status=409") == 2);
    CHECK(count_of(log, "apikeys info session_ended why=the server refused the refresh token (401)") == 1);
    CHECK(count_of(log, "apikeys info session_ended why=logged out") == 2);
    harness_.capture(source_ + " log sink (trace)", log);
  }

  int rows() const { return rows_; }

 private:
  static std::string bearer(const session& s) { return "Bearer " + std::string{s.refresh_token().reveal()}; }
  static std::string access_bearer(const session& s) { return "Bearer " + std::string{s.access_token().reveal()}; }

  Transport& transport_;
  leak_harness& harness_;
  std::string source_;
  printer out_;
  std::shared_ptr<std::string> log_ = std::make_shared<std::string>();
  app_type app_;
  int rows_ = 0;
};

// --- (b, c, d) programs run as processes --------------------------------------------------------------------

struct process_result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_fd(int fd) {
  std::string text;
  char buffer[8192];
  ::lseek(fd, 0, SEEK_SET);
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

int temp_file() {
  std::string path = (std::filesystem::temp_directory_path() / "apikeys-leak-XXXXXX").string();
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("mkostemp failed");
  ::unlink(path.c_str());
  return fd;
}

/// Runs `program args...` with `env` added to a clean environment, stdin from /dev/null, stdout and stderr
/// to files; killed after 60 s.
process_result run_program(const std::string& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
  const int out_fd = temp_file();
  const int err_fd = temp_file();
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  ::posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<std::string> argv_text{program};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::map<std::string, std::string> merged{{"PATH", "/usr/bin:/bin"}};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "TMPDIR"})
    if (const char* value = std::getenv(name)) merged[name] = value;
  for (const auto& [name, value] : env) merged[name] = value;
  std::vector<std::string> env_text;
  for (const auto& [name, value] : merged) env_text.push_back(name + "=" + value);
  std::vector<char*> argv, envp;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot run " + program);
  const int status = apikeys_tests::detail::reap_or_kill(pid, std::chrono::milliseconds{60'000});
  process_result r;
  r.status = apikeys_tests::detail::decode_wait_status(status);
  r.out = read_fd(out_fd);
  r.err = read_fd(err_fd);
  ::close(out_fd);
  ::close(err_fd);
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The string value of "name" in a flat JSON object (the CLI's session file).
std::string json_string(const std::string& json, std::string_view name) {
  const std::string key = "\"" + std::string{name} + "\":\"";
  const std::size_t at = json.find(key);
  if (at == std::string::npos) return {};
  const std::size_t start = at + key.size();
  return json.substr(start, json.find('"', start) - start);
}

class cli_run {
 public:
  cli_run(leak_harness& harness, std::string base_url, std::string app_id, std::string dir)
      : harness_(harness), base_url_(std::move(base_url)), app_id_(std::move(app_id)), dir_(std::move(dir)) {}

  process_result run(const std::vector<std::string>& args, std::map<std::string, std::string> env, int expected,
                     bool reveals = false) {
    env.emplace("HOME", dir_);
    env.emplace("APIKEYS_BASE_URL", base_url_);
    env.emplace("APIKEYS_APP_ID", app_id_);
    env.emplace("APIKEYS_SESSION_FILE", dir_ + "/session.json");
    // -vv: every run logs every event to stderr too, which is searched with the rest.
    std::vector<std::string> logged{"-vv"};
    logged.insert(logged.end(), args.begin(), args.end());
    process_result r = run_program(APIKEYS_CLI_PATH, logged, env);
    std::string label = "apikeys";
    for (const auto& a : logged) label.append(" ").append(a);
    // A run that sends nothing (refused locally, or logging out when not logged in) logs nothing.
    if (expected == 0 && label != "apikeys -vv logout") CHECK(r.err.find("apikeys debug request_started ") != std::string::npos);
    INFO(label, "\nstdout: ", r.out, "\nstderr: ", r.err);
    CHECK(r.status == expected);
    std::string value;
    if (reveals) {
      value = first_key_shaped(r.out);
      REQUIRE(value.size() == 64);
      harness_.learn(value);
    }
    harness_.capture(label + " (stdout)", r.out, value);
    harness_.capture(label + " (stderr)", r.err);
    if (const std::string session = read_text(env.at("APIKEYS_SESSION_FILE")); !session.empty()) {
      harness_.learn(json_string(session, "access_token"));
      harness_.learn(json_string(session, "refresh_token"));
    }
    return r;
  }

 private:
  leak_harness& harness_;
  std::string base_url_, app_id_, dir_;
};

std::string id_in(const std::string& text) {
  const std::size_t at = text.find("\"id\":\"");
  REQUIRE(at != std::string::npos);
  return text.substr(at + 6, 24);
}

void run_cli(leak_harness& harness, const std::string& base_url, const std::string& app_id, const std::string& email,
             const std::string& password) {
  // Removed however the run ends, so a failed check leaves no session files (which hold tokens) behind.
  struct scratch_dir {
    std::string path = (std::filesystem::temp_directory_path() / ("apikeys-leak-cli-" + std::to_string(::getpid()))).string();
    scratch_dir() { std::filesystem::create_directories(path); }
    ~scratch_dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
  } scratch;
  const std::string& dir = scratch.path;
  cli_run cli{harness, base_url, app_id, dir};
  const std::map<std::string, std::string> credentials_env{{"APIKEYS_EMAIL", email}, {"APIKEYS_PASSWORD", password}};
  cli.run({"login", "--json"}, {{"APIKEYS_EMAIL", email}, {"APIKEYS_PASSWORD", "not-the-password-3"}}, 4);
  harness.learn("not-the-password-3");
  cli.run({"login"}, credentials_env, 0);
  const process_result created = cli.run({"create", "cli-key", "--json"}, {}, 0, true);
  const std::string id = id_in(created.out);
  const std::string value = first_key_shaped(created.out);
  cli.run({"create", "cli-table"}, {}, 0, true);
  cli.run({"create", "cli-key"}, {}, 1);         // 409
  cli.run({"create", "--", "bad name"}, {}, 2);  // refused unsent
  cli.run({"list"}, {}, 0);
  cli.run({"list", "--json"}, {}, 0);
  cli.run({"get", id}, {}, 0);
  cli.run({"get", never_issued.to_string()}, {}, 3);
  cli.run({"disable", id}, {}, 0);
  cli.run({"login-with-key"}, {{"APIKEYS_KEY", value}, {"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 4);  // disabled
  cli.run({"enable", id, "--json"}, {}, 0);
  cli.run({"enable", never_issued.to_string()}, {}, 3);
  cli.run({"get", "not-an-id"}, {}, 2);
  // A device logged in with the key; the server refuses to delete the key in use.
  cli.run({"login-with-key", "--json"}, {{"APIKEYS_KEY", value}, {"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 0);
  cli.run({"delete", id}, {{"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 4);
  cli.run({"list"}, {{"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 0);
  cli.run({"logout"}, {{"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 0);
  cli.run({"delete", id}, {}, 0);
  cli.run({"delete", id}, {}, 0);
  cli.run({"login-with-key"}, {{"APIKEYS_KEY", value}, {"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 4);  // deleted
  cli.run({"login-with-key"}, {{"APIKEYS_KEY", "no-such-key-value"}, {"APIKEYS_SESSION_FILE", dir + "/key.json"}}, 4);
  cli.run({"logout"}, {}, 0);
  cli.run({"list"}, {}, 4);
  cli.run({"logout"}, {}, 0);
}

}  // namespace

TEST_CASE("leak harness: no secret in anything the library, the emulator, the examples or the CLI print") {
  leak_harness harness;
  const std::string email = "leak@example.com";
  const std::string password = "leak-Pa55word-4q";
  harness.learn(password);

  // (a) the library against the in-process emulator.
  {
    apikeys::testing::emulator emu;
    emu.add_user(email, password);
    library_run<apikeys::testing::emulator> run{emu, harness, "library (in-process emulator)", emu.hostname(), emu.app_id()};
    run.run(email, password);
    CHECK(run.rows() == 11);
  }

  // (a) again over loopback HTTP to (b) the apikeys-emulator process, then (d) the CLI against it.
  {
    apikeys_tests::emulator_process server({"--app-id", "leak-app", "--user", email + ":" + password});
    {
      apikeys::httplib_transport transport;
      library_run<apikeys::httplib_transport> run{transport, harness, "library (HTTP)", server.base_url(), "leak-app"};
      run.run(email, password);
    }
    run_cli(harness, server.base_url(), "leak-app", email, password);
    CHECK(server.stop() == 0);
    const std::string log = server.stderr_text();
    CHECK(log.find("apikeys info response method=POST route=/api/client/v2.0/auth/api_keys status=201 ") != std::string::npos);
    harness.capture("apikeys-emulator (stderr)", log);
    harness.capture("apikeys-emulator (stdout)", server.base_url());
  }

  // (c) the examples, as a user runs them. quickstart prints its new key's value once, on purpose.
  harness.learn("demo-password");
  for (const auto& [name, program] : {std::pair{"quickstart", APIKEYS_QUICKSTART_PATH},
                                      std::pair{"custom_transport", APIKEYS_CUSTOM_TRANSPORT_PATH},
                                      std::pair{"coroutines", APIKEYS_COROUTINES_PATH}}) {
    const process_result r = run_program(program, {}, {});
    CHECK(r.status == 0);
    std::string deliberate;
    if (std::string_view{name} == "quickstart") {
      deliberate = first_key_shaped(r.out);
      CHECK(deliberate.size() == 64);
      harness.learn(deliberate);
    }
    harness.capture(std::string{name} + " (stdout)", r.out, deliberate);
    harness.capture(std::string{name} + " (stderr)", r.err);
  }

  const auto findings = harness.scan();
  MESSAGE(fmt::format("secret-leak harness: {} outputs inspected ({} from the library in-process, {} stdout/stderr of "
                      "the emulator, examples and CLI runs; {} bytes) for {} known secrets and the shapes of key values "
                      "and JWTs: {} findings",
                      harness.output_count(), harness.output_count() - harness.process_outputs(), harness.process_outputs(),
                      harness.bytes(), harness.secret_count(), findings.size()));
  for (const auto& f : findings) FAIL_CHECK(f.source << ": " << f.what);
  CHECK(findings.empty());
  CHECK(harness.output_count() > 200);
  CHECK(harness.process_outputs() > 50);
  CHECK(harness.secret_count() > 40);

  SUBCASE("control: the harness finds what is planted in a captured output") {
    auto& outputs = harness.outputs();
    REQUIRE(outputs.size() > 3);
    leak_harness planted = harness;
    planted.outputs()[1].text.append(" password leak-Pa55word-4q");
    CHECK(planted.scan().size() == 1);
    leak_harness shaped = harness;
    shaped.outputs()[2].text.append(" eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
    CHECK(shaped.scan().size() == 1);
    leak_harness keylike = harness;
    keylike.outputs()[3].text.append(" Zq8LkV3pT0aWm1nB6cXyR4sD7fGhZq8LkV3pT0aWm1nB6cXyR4sD7fGh12345678");
    CHECK(keylike.scan().size() == 1);
    leak_harness twice = harness;
    for (auto& o : twice.outputs())
      if (!o.deliberate.empty()) {
        o.text.append(o.deliberate);
        break;
      }
    CHECK(twice.scan().size() >= 1);
  }
}
