// apikeys-server's store: the emulator's records in one SQLite file (WAL, synchronous=FULL), passwords
// hashed with Argon2id (libsodium), key values kept only as SHA-256 hashes. Server-only: not a public header.
#ifndef APIKEYS_SERVER_SQLITE_STORE_HPP
#define APIKEYS_SERVER_SQLITE_STORE_HPP

#include <sodium.h>
#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <apikeys/testing/emulator_store.hpp>

namespace apikeys_server {

using apikeys::object_id;
using apikeys::testing::add_key_result;
using apikeys::testing::emulator_store_error;
using apikeys::testing::stored_key;
using apikeys::testing::stored_session;
using apikeys::testing::stored_user;
using sha256_digest = apikeys::testing::detail::sha256_digest;

/// The migrations, oldest first: migration N (1-based) takes the schema from version N-1 to N. Append
/// only; a released migration never changes.
inline const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> all{
      // 1: the initial schema.
      R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,                 -- 24 hex digits
  email         TEXT UNIQUE,                      -- NULL for an anonymous user
  anonymous     INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
  identity_id   TEXT NOT NULL,
  password_hash TEXT                              -- crypto_pwhash_str (Argon2id); NULL for an anonymous user
);
CREATE TABLE api_keys (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,   -- creation order, which fetch all answers in
  id         TEXT NOT NULL UNIQUE,                -- ObjectId, 24 hex digits
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  value_hash BLOB NOT NULL UNIQUE CHECK (length(value_hash) = 32),  -- SHA-256 of the key value
  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  UNIQUE (user_id, name)
);
CREATE TABLE sessions (
  id      TEXT PRIMARY KEY,                       -- the tokens' sid
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key_id  TEXT,                                   -- the key whose login made it, if any
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX sessions_by_user ON sessions (user_id);
)sql",
  };
  return all;
}

/// The schema version this program writes and reads.
inline int latest_schema_version() { return static_cast<int>(migrations().size()); }

class sqlite_store final : public apikeys::testing::emulator_store {
 public:
  /// Opens (creating) the database file at `path` and brings its schema up to date. Throws
  /// emulator_store_error when it cannot, or when the file's schema is newer than this program's.
  explicit sqlite_store(const std::string& path) {
    if (::sodium_init() < 0) throw emulator_store_error("libsodium cannot be initialised");
    const int opened = ::sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (opened != SQLITE_OK) {
      std::string why = db_ != nullptr ? ::sqlite3_errmsg(db_) : ::sqlite3_errstr(opened);
      ::sqlite3_close(db_);
      db_ = nullptr;
      throw emulator_store_error("cannot open " + path + ": " + why);
    }
    try {
      ::sqlite3_busy_timeout(db_, 5000);
      {
        statement mode(db_, "PRAGMA journal_mode=WAL");
        if (!mode.step() || mode.text(0) != "wal") throw emulator_store_error("the database cannot use WAL mode");
      }
      // FULL: a commit returns only once the WAL is synced, so an answered write survives a crash.
      exec("PRAGMA synchronous=FULL");
      exec("PRAGMA foreign_keys=ON");
      migrate();
      // An unknown email is checked against this, so it costs one Argon2id verification too.
      unknown_user_hash_ = hash_password(apikeys::testing::detail::random_hex(16));
    } catch (...) {
      ::sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;
  ~sqlite_store() override { ::sqlite3_close(db_); }

  /// The schema version of the open database.
  int schema_version() {
    statement s(db_, "SELECT coalesce(max(version), 0) FROM schema_version");
    s.step();
    return static_cast<int>(s.integer(0));
  }

  // IMMEDIATE takes the write lock at once, so a request's reads and writes are one serial transaction
  // even if another process shares the file.
  void begin() override { exec("BEGIN IMMEDIATE"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override {
    if (::sqlite3_get_autocommit(db_) == 0) ::sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  std::optional<stored_user> user_by_id(std::string_view id) override {
    statement s(db_, "SELECT id, email, anonymous, identity_id FROM users WHERE id = ?1");
    s.bind_text(1, id);
    return s.step() ? std::optional<stored_user>{user_at(s, 0)} : std::nullopt;
  }

  std::optional<stored_user> user_by_email(std::string_view email) override {
    statement s(db_, "SELECT id, email, anonymous, identity_id FROM users WHERE email = ?1");
    s.bind_text(1, email);
    return s.step() ? std::optional<stored_user>{user_at(s, 0)} : std::nullopt;
  }

  bool add_user(const stored_user& user, std::string_view password) override {
    if (!user.anonymous && user_by_email(user.email)) return false;
    statement s(db_, "INSERT INTO users (id, email, anonymous, identity_id, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind_text(1, user.id);
    if (user.anonymous) {
      s.bind_null(2);
      s.bind_null(5);
    } else {
      s.bind_text(2, user.email);
      s.bind_text(5, hash_password(password));
    }
    s.bind_integer(3, user.anonymous ? 1 : 0);
    s.bind_text(4, user.identity_id);
    s.step();
    return true;
  }

  void set_password(std::string_view user_id, std::string_view password) override {
    statement s(db_, "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND anonymous = 0");
    s.bind_text(1, hash_password(password));
    s.bind_text(2, user_id);
    s.step();
  }

  std::optional<stored_user> check_password(std::string_view email, std::string_view password) override {
    statement s(db_, "SELECT id, email, anonymous, identity_id, password_hash FROM users WHERE email = ?1 AND anonymous = 0");
    s.bind_text(1, email);
    if (!s.step() || s.is_null(4)) {
      verify_password(unknown_user_hash_, password);
      return std::nullopt;
    }
    const std::string stored{s.text(4)};
    if (!verify_password(stored, password)) return std::nullopt;
    return user_at(s, 0);
  }

  std::vector<stored_key> keys(std::string_view user_id) override {
    statement s(db_, "SELECT id, name, value_hash, disabled FROM api_keys WHERE user_id = ?1 ORDER BY seq");
    s.bind_text(1, user_id);
    std::vector<stored_key> out;
    while (s.step()) out.push_back(key_at(s, 0));
    return out;
  }

  std::size_t key_count(std::string_view user_id) override {
    statement s(db_, "SELECT count(*) FROM api_keys WHERE user_id = ?1");
    s.bind_text(1, user_id);
    s.step();
    return static_cast<std::size_t>(s.integer(0));
  }

  // Inside the request's transaction, so the checks and the insert are one step; the UNIQUE (user_id,
  // name) constraint holds the name rule even against a writer that skips the check.
  add_key_result add_key(std::string_view user_id, const stored_key& key, std::size_t max_keys) override {
    {
      statement s(db_, "SELECT 1 FROM api_keys WHERE user_id = ?1 AND name = ?2");
      s.bind_text(1, user_id);
      s.bind_text(2, key.name);
      if (s.step()) return add_key_result::name_taken;
    }
    if (key_count(user_id) >= max_keys) return add_key_result::limit_reached;
    statement s(db_, "INSERT INTO api_keys (id, user_id, name, value_hash, disabled) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind_text(1, key.id.to_string());
    s.bind_text(2, user_id);
    s.bind_text(3, key.name);
    s.bind_blob(4, key.hash.data(), key.hash.size());
    s.bind_integer(5, key.disabled ? 1 : 0);
    if (s.step_constrained() == SQLITE_CONSTRAINT) return add_key_result::name_taken;
    return add_key_result::added;
  }

  bool set_key_disabled(std::string_view user_id, const object_id& key_id, bool disabled) override {
    statement s(db_, "UPDATE api_keys SET disabled = ?1 WHERE user_id = ?2 AND id = ?3");
    s.bind_integer(1, disabled ? 1 : 0);
    s.bind_text(2, user_id);
    s.bind_text(3, key_id.to_string());
    s.step();
    return ::sqlite3_changes(db_) > 0;
  }

  bool remove_key(std::string_view user_id, const object_id& key_id) override {
    statement s(db_, "DELETE FROM api_keys WHERE user_id = ?1 AND id = ?2");
    s.bind_text(1, user_id);
    s.bind_text(2, key_id.to_string());
    s.step();
    return ::sqlite3_changes(db_) > 0;
  }

  // Found through the UNIQUE index on value_hash, then compared again with sodium_memcmp. The index walk
  // is not constant-time, but what it compares is the SHA-256 of a 64-character random value (about 381
  // bits), which tells an attacker nothing about any stored key's value.
  std::optional<std::pair<stored_user, stored_key>> key_by_hash(const sha256_digest& hash) override {
    statement s(db_,
                "SELECT k.id, k.name, k.value_hash, k.disabled, u.id, u.email, u.anonymous, u.identity_id "
                "FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.value_hash = ?1");
    s.bind_blob(1, hash.data(), hash.size());
    if (!s.step()) return std::nullopt;
    stored_key key = key_at(s, 0);
    if (::sodium_memcmp(key.hash.data(), hash.data(), hash.size()) != 0) return std::nullopt;
    return std::pair{user_at(s, 4), std::move(key)};
  }

  void add_session(std::string_view session_id, const stored_session& session) override {
    statement s(db_, "INSERT INTO sessions (id, user_id, key_id, revoked) VALUES (?1, ?2, ?3, ?4)");
    s.bind_text(1, session_id);
    s.bind_text(2, session.user_id);
    if (session.key_id)
      s.bind_text(3, session.key_id->to_string());
    else
      s.bind_null(3);
    s.bind_integer(4, session.revoked ? 1 : 0);
    s.step();
  }

  std::optional<stored_session> session(std::string_view session_id) override {
    statement s(db_, "SELECT user_id, key_id, revoked FROM sessions WHERE id = ?1");
    s.bind_text(1, session_id);
    if (!s.step()) return std::nullopt;
    stored_session out;
    out.user_id = std::string{s.text(0)};
    if (!s.is_null(1)) out.key_id = object_id::parse(s.text(1));
    out.revoked = s.integer(2) != 0;
    return out;
  }

  void revoke_session(std::string_view session_id) override {
    statement s(db_, "UPDATE sessions SET revoked = 1 WHERE id = ?1");
    s.bind_text(1, session_id);
    s.step();
  }

  void revoke_sessions(std::string_view user_id) override {
    statement s(db_, "UPDATE sessions SET revoked = 1 WHERE user_id = ?1");
    s.bind_text(1, user_id);
    s.step();
  }

 private:
  // One prepared statement; every failure throws emulator_store_error with SQLite's message, which names
  // no bound value (so no secret).
  class statement {
   public:
    statement(::sqlite3* db, std::string_view sql) : db_(db) {
      if (::sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        fail("prepare");
    }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() { ::sqlite3_finalize(stmt_); }

    void bind_text(int i, std::string_view text) {
      check(::sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT), "bind");
    }
    void bind_blob(int i, const void* data, std::size_t size) {
      check(::sqlite3_bind_blob(stmt_, i, data, static_cast<int>(size), SQLITE_TRANSIENT), "bind");
    }
    void bind_integer(int i, std::int64_t value) { check(::sqlite3_bind_int64(stmt_, i, value), "bind"); }
    void bind_null(int i) { check(::sqlite3_bind_null(stmt_, i), "bind"); }

    /// True for a row, false when done.
    bool step() {
      const int rc = ::sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      fail("step");
    }
    /// SQLITE_DONE, or SQLITE_CONSTRAINT when a constraint refused the write.
    int step_constrained() {
      const int rc = ::sqlite3_step(stmt_);
      if (rc == SQLITE_DONE || rc == SQLITE_ROW) return SQLITE_DONE;
      if ((rc & 0xff) == SQLITE_CONSTRAINT) return SQLITE_CONSTRAINT;
      fail("step");
    }

    bool is_null(int column) const { return ::sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::int64_t integer(int column) const { return ::sqlite3_column_int64(stmt_, column); }
    std::string_view text(int column) const {
      const auto* p = reinterpret_cast<const char*>(::sqlite3_column_text(stmt_, column));
      return p == nullptr ? std::string_view{} : std::string_view{p, static_cast<std::size_t>(::sqlite3_column_bytes(stmt_, column))};
    }
    std::string_view blob(int column) const {
      const auto* p = static_cast<const char*>(::sqlite3_column_blob(stmt_, column));
      return p == nullptr ? std::string_view{} : std::string_view{p, static_cast<std::size_t>(::sqlite3_column_bytes(stmt_, column))};
    }

   private:
    void check(int rc, const char* what) {
      if (rc != SQLITE_OK) fail(what);
    }
    [[noreturn]] void fail(const char* what) {
      throw emulator_store_error(std::string{"sqlite "} + what + ": " + ::sqlite3_errmsg(db_));
    }
    ::sqlite3* db_;
    ::sqlite3_stmt* stmt_ = nullptr;
  };

  void exec(const char* sql) {
    char* message = nullptr;
    if (::sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message != nullptr ? message : ::sqlite3_errmsg(db_);
      ::sqlite3_free(message);
      throw emulator_store_error("sqlite: " + why);
    }
  }

  // All pending migrations in one transaction: a crash mid-way leaves the previous version, whole.
  void migrate() {
    exec("BEGIN IMMEDIATE");
    try {
      exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
      const int current = schema_version();
      const int latest = latest_schema_version();
      if (current > latest)
        throw emulator_store_error("the database's schema version " + std::to_string(current) +
                                   " is newer than this program's (" + std::to_string(latest) + ")");
      for (int v = current + 1; v <= latest; ++v) {
        exec(std::string{migrations()[static_cast<std::size_t>(v - 1)]}.c_str());
        statement s(db_, "INSERT INTO schema_version (version, applied_at) VALUES (?1, datetime('now'))");
        s.bind_integer(1, v);
        s.step();
      }
      exec("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }

  static stored_user user_at(const statement& s, int first) {
    stored_user out;
    out.id = std::string{s.text(first)};
    out.email = std::string{s.text(first + 1)};  // NULL (anonymous) reads as ""
    out.anonymous = s.integer(first + 2) != 0;
    out.identity_id = std::string{s.text(first + 3)};
    return out;
  }

  static stored_key key_at(const statement& s, int first) {
    stored_key out;
    const auto id = object_id::parse(s.text(first));
    if (!id) throw emulator_store_error("sqlite: a stored key id is not an ObjectId");
    out.id = *id;
    out.name = std::string{s.text(first + 1)};
    const std::string_view hash = s.blob(first + 2);
    if (hash.size() != out.hash.size()) throw emulator_store_error("sqlite: a stored key hash is not 32 bytes");
    for (std::size_t i = 0; i < hash.size(); ++i) out.hash[i] = static_cast<std::uint8_t>(hash[i]);
    out.disabled = s.integer(first + 3) != 0;
    return out;
  }

  // Argon2id with libsodium's interactive limits (2 passes, 64 MiB), as a self-describing string.
  static std::string hash_password(std::string_view password) {
    std::array<char, crypto_pwhash_STRBYTES> out{};
    if (::crypto_pwhash_str_alg(out.data(), password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
      throw emulator_store_error("password hashing failed (out of memory)");
    return std::string{out.data()};
  }

  static bool verify_password(const std::string& stored, std::string_view password) {
    return ::crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
  }

  ::sqlite3* db_ = nullptr;
  std::string unknown_user_hash_;
};

}  // namespace apikeys_server

#endif  // APIKEYS_SERVER_SQLITE_STORE_HPP
