// apikeys-server over loopback: what one run writes, the next run on the same --data directory still has
// (users and passwords, keys and their enabled flags, key logins, sessions and the token-signing key), also
// after kill -9; the schema migrations; HTTPS; and the arguments it refuses.
#include <apikeys/apikeys.hpp>
#include <apikeys/transport/httplib.hpp>

#include <doctest/doctest.h>
#include <httplib.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../integration/support/adapter_test_support.hpp"
#include "../integration/support/emulator_process.hpp"
#include "../integration/support/tls_files.hpp"
#include "../unit/support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys_tests::config_for;
using apikeys_tests::describe;
using apikeys_tests::emulator_process;

using app_client = apikeys::basic_app_client<apikeys::httplib_transport>;
using result_app_client =
    apikeys::basic_app_client<apikeys::httplib_transport, apikeys::inline_executor, apikeys::return_result>;

const std::string app_id = "server-test";
const std::string email = "alice@example.com";
const std::string password = "correct-horse-battery-staple-7";

// A fresh directory under the system's temporary one, removed with everything in it at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "apikeys-server-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

emulator_process start_server(const std::filesystem::path& data) {
  return emulator_process(APIKEYS_SERVER_PATH, {"--data", data.string(), "--app-id", app_id});
}

// Runs `sql` (one row, one integer column) on the database file, read-only.
std::optional<long long> query_integer(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  std::optional<long long> out;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
      out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

std::string query_text(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      if (text != nullptr) out = text;
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// Every byte of every file in `dir` (the database, its WAL, the signing key).
std::string all_bytes_in(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

unsigned permissions_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

// POST /auth/session with a refresh token, as raw HTTP: the status the server answers.
int refresh_status(const std::string& base_url, std::string_view refresh_token) {
  httplib::Client client(base_url);
  client.set_connection_timeout(10);
  client.set_read_timeout(10);
  const auto answer = client.Post("/api/client/v2.0/auth/session",
                                  httplib::Headers{{"Authorization", "Bearer " + std::string{refresh_token}}}, "",
                                  "application/json");
  return answer ? answer->status : -1;
}

}  // namespace

TEST_CASE("apikeys-server keeps users, keys, sessions and its signing key across a restart") {
  const temp_dir tmp;
  const std::filesystem::path data = tmp.path() / "data";  // does not exist yet: the server makes it
  const std::filesystem::path database = data / "apikeys.sqlite3";

  std::string user_id;
  std::string refresh_token;
  std::string kept_value;
  std::string disabled_value;
  object_id kept_id;
  object_id disabled_id;
  {
    emulator_process server = start_server(data);
    app_client app(apikeys::httplib_transport{}, config_for(server, app_id));
    app.register_user(email, password);
    const std::shared_ptr<session> alice = app.log_in(credentials::email_password(email, password));
    REQUIRE(alice);
    user_id = alice->user_id();
    refresh_token = std::string{alice->refresh_token().reveal()};
    auto keys = app.api_keys(alice);
    const api_key kept = keys.create("kept");
    const api_key disabled = keys.create("disabled");
    REQUIRE(kept.value.has_value());
    REQUIRE(disabled.value.has_value());
    kept_id = kept.id;
    disabled_id = disabled.id;
    kept_value = std::string{kept.value->reveal()};
    disabled_value = std::string{disabled.value->reveal()};
    keys.disable(disabled.id);

    CHECK(server.stop(SIGTERM) == 0);
    const std::string log = server.stderr_text();
    CHECK(log.find("POST /api/client/v2.0/auth/api_keys 201") != std::string::npos);
    CHECK(log.find("apikeys-server: stopped after") != std::string::npos);
    for (const std::string& s : {password, kept_value, disabled_value, refresh_token})
      CHECK_MESSAGE(log.find(s) == std::string::npos, "a secret in the server's log");
  }

  // What the first run left: schema version 1 (migration 1 applied once), Argon2id, hashes only.
  CHECK(permissions_of(data) == 0700);
  CHECK(permissions_of(data / "token-signing.key") == 0600);
  CHECK(query_integer(database, "SELECT max(version) FROM schema_version") == 1);
  CHECK(query_integer(database, "SELECT count(*) FROM schema_version") == 1);
  CHECK(query_text(database, "PRAGMA journal_mode") == "wal");
  CHECK(query_integer(database, "SELECT count(*) FROM users") == 1);
  CHECK(query_integer(database, "SELECT count(*) FROM api_keys WHERE length(value_hash) = 32") == 2);
  CHECK(query_text(database, "SELECT password_hash FROM users").rfind("$argon2id$", 0) == 0);
  {
    const std::string bytes = all_bytes_in(data);
    CHECK_FALSE(bytes.empty());
    for (const std::string& s : {password, kept_value, disabled_value})
      CHECK_MESSAGE(bytes.find(s) == std::string::npos, "a secret stored in the clear");
  }

  {
    emulator_process server = start_server(data);
    // The first run's refresh token: its session and the signing key both came back.
    CHECK(refresh_status(server.base_url(), refresh_token) == 201);

    result_app_client app(apikeys::httplib_transport{}, config_for(server, app_id));
    {
      auto wrong = app.log_in(credentials::email_password(email, "not-the-password"));
      REQUIRE_FALSE(wrong.has_value());
      CHECK_MESSAGE(wrong.error().code == errc::auth_error, describe(wrong.error()));
      CHECK(wrong.error().http_status == 401);
    }
    auto alice = app.log_in(credentials::email_password(email, password));
    REQUIRE_MESSAGE(alice.has_value(), describe(alice.error()));
    CHECK((*alice)->user_id() == user_id);

    auto all = app.api_keys(*alice).fetch_all();
    REQUIRE_MESSAGE(all.has_value(), describe(all.error()));
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].id == kept_id);
    CHECK((*all)[0].name == "kept");
    CHECK((*all)[0].enabled);
    CHECK((*all)[1].id == disabled_id);
    CHECK((*all)[1].name == "disabled");
    CHECK_FALSE((*all)[1].enabled);
    CHECK_FALSE((*all)[0].value.has_value());

    auto device = app.log_in(credentials::api_key(secret{kept_value}));
    REQUIRE_MESSAGE(device.has_value(), describe(device.error()));
    CHECK((*device)->user_id() == user_id);

    auto refused = app.log_in(credentials::api_key(secret{disabled_value}));
    REQUIRE_FALSE(refused.has_value());
    CHECK_MESSAGE(refused.error().code == errc::auth_error, describe(refused.error()));
    CHECK(refused.error().http_status == 401);

    // The name rule held across the restart too.
    auto again = app.api_keys(*alice).create("kept");
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().http_status == 409);

    CHECK(server.stop(SIGINT) == 0);
  }
  // The restart applied no migration again.
  CHECK(query_integer(database, "SELECT count(*) FROM schema_version") == 1);
  CHECK(query_integer(database, "SELECT count(*) FROM api_keys") == 2);
}

TEST_CASE("apikeys-server refuses a database whose schema is newer than it knows") {
  const temp_dir tmp;
  const std::filesystem::path database = tmp.path() / "apikeys.sqlite3";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(database.c_str(), &db) == SQLITE_OK);
    const int rc = sqlite3_exec(db,
                                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);"
                                "INSERT INTO schema_version VALUES (1, 'then'), (2, 'later');",
                                nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  }
  std::string why;
  try {
    emulator_process server = start_server(tmp.path());
  } catch (const std::runtime_error& e) {
    why = e.what();
  }
  CHECK_MESSAGE(why.find("schema version 2 is newer than this program's (1)") != std::string::npos, why);
  CHECK(query_integer(database, "SELECT max(version) FROM schema_version") == 2);
  CHECK(query_integer(database, "SELECT count(*) FROM sqlite_master WHERE name = 'users'") == 0);
}

TEST_CASE("apikeys-server: what it answered before a kill -9 is there after a restart") {
  const temp_dir tmp;
  const std::filesystem::path data = tmp.path() / "data";
  std::string kept_value;
  std::string gone_value;
  object_id kept_id;
  {
    emulator_process server = start_server(data);
    app_client app(apikeys::httplib_transport{}, config_for(server, app_id));
    app.register_user(email, password);
    auto keys = app.api_keys(app.log_in(credentials::email_password(email, password)));
    const api_key kept = keys.create("kept");
    const api_key gone = keys.create("gone");
    REQUIRE(kept.value.has_value());
    REQUIRE(gone.value.has_value());
    kept_id = kept.id;
    kept_value = std::string{kept.value->reveal()};
    gone_value = std::string{gone.value->reveal()};
    keys.disable(kept.id);
    keys.remove(gone.id);
    // No clean shutdown: every answered write must already be committed.
    CHECK(server.stop(SIGKILL) == 128 + SIGKILL);
  }
  emulator_process server = start_server(data);
  result_app_client app(apikeys::httplib_transport{}, config_for(server, app_id));
  auto alice = app.log_in(credentials::email_password(email, password));
  REQUIRE_MESSAGE(alice.has_value(), describe(alice.error()));
  auto all = app.api_keys(*alice).fetch_all();
  REQUIRE_MESSAGE(all.has_value(), describe(all.error()));
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].id == kept_id);
  CHECK_FALSE((*all)[0].enabled);
  for (const std::string& value : {kept_value, gone_value}) {  // disabled, deleted
    auto refused = app.log_in(credentials::api_key(secret{value}));
    REQUIRE_FALSE(refused.has_value());
    CHECK_MESSAGE(refused.error().code == errc::auth_error, describe(refused.error()));
    CHECK(refused.error().http_status == 401);
  }
  CHECK(server.stop(SIGTERM) == 0);
}

TEST_CASE("apikeys-server serves HTTPS with --tls-cert and --tls-key") {
  const apikeys_tests::tls_files tls;
  const temp_dir tmp;
  emulator_process server(APIKEYS_SERVER_PATH, {"--data", (tmp.path() / "data").string(), "--app-id", app_id,
                                                "--tls-cert", tls.server_cert, "--tls-key", tls.server_key});
  REQUIRE(server.base_url().rfind("https://127.0.0.1:", 0) == 0);
  apikeys::httplib_transport_options options;
  options.ca_bundle_path = tls.ca_cert;
  result_app_client app(apikeys::httplib_transport{std::move(options)}, config_for(server, app_id));
  REQUIRE_MESSAGE(app.register_user(email, password).has_value(), "register over TLS");
  auto alice = app.log_in(credentials::email_password(email, password));
  REQUIRE_MESSAGE(alice.has_value(), describe(alice.error()));
  CHECK((*alice)->host() == server.base_url());
  auto created = app.api_keys(*alice).create("over-tls");
  REQUIRE_MESSAGE(created.has_value(), describe(created.error()));
  CHECK(created->enabled);
  CHECK(server.stop(SIGTERM) == 0);
}

TEST_CASE("apikeys-server refuses to start without --data, or with half of the TLS pair") {
  const temp_dir tmp;
  const auto refusal = [](std::vector<std::string> args) {
    try {
      emulator_process server(APIKEYS_SERVER_PATH, std::move(args));
    } catch (const std::runtime_error& e) {
      return std::string{e.what()};
    }
    return std::string{"it started"};
  };
  CHECK(refusal({"--app-id", app_id}).find("--data DIR is required") != std::string::npos);
  CHECK(refusal({"--data", tmp.path().string(), "--tls-cert", "x.pem"}).find("--tls-cert and --tls-key go together") !=
        std::string::npos);
  CHECK(refusal({"--data", (tmp.path() / "no" / "such").string()}).find("cannot create") != std::string::npos);
}
