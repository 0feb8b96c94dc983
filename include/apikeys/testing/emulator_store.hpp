// apikeys::testing::emulator_store: where the emulator's users, keys and sessions live, apart from the
// protocol code of emulator.hpp; memory_store is the in-memory one every test uses.
#ifndef APIKEYS_TESTING_EMULATOR_STORE_HPP
#define APIKEYS_TESTING_EMULATOR_STORE_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../object_id.hpp"
#include "../version.hpp"
#include "detail/random.hpp"
#include "detail/sha256.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// A user as the protocol code sees it; the password, or its hash, stays inside the store.
struct stored_user {
  std::string id;           ///< 24 hex digits
  std::string email;        ///< empty for an anonymous user
  bool anonymous = false;
  std::string identity_id;  ///< 24 hex digits
};

/// An API key as stored: its value is never kept, only the SHA-256 of it.
struct stored_key {
  object_id id;
  std::string name;
  detail::sha256_digest hash{};
  bool disabled = false;
};

/// A login session, named by the `sid` of its tokens; revoking it ends its access and refresh tokens.
struct stored_session {
  std::string user_id;
  std::optional<object_id> key_id;  ///< the key whose login made this session
  bool revoked = false;
};

/// What emulator_store::add_key did.
enum class add_key_result { added, name_taken, limit_reached };

/// A store could not read or write (a full disk, a broken database file). The emulator rolls the
/// request's transaction back and answers 500; the message never holds a secret.
class emulator_store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where an emulator keeps its records. The emulator calls it under its own mutex, one call at a time,
/// and brackets each request (and each public member call) with begin() and commit(), or rollback()
/// when the request failed with an exception: a store that can should make the calls in between one
/// transaction. Any member may throw emulator_store_error.
class emulator_store {
 public:
  virtual ~emulator_store() = default;

  virtual void begin() {}
  /// Makes the writes since begin() durable; only then does the emulator answer.
  virtual void commit() {}
  virtual void rollback() noexcept {}

  virtual std::optional<stored_user> user_by_id(std::string_view id) = 0;
  virtual std::optional<stored_user> user_by_email(std::string_view email) = 0;
  /// Adds `user` (with `password`, unless anonymous); false, adding nothing, when a user with its email exists.
  virtual bool add_user(const stored_user& user, std::string_view password) = 0;
  /// Sets the password of an existing email/password user.
  virtual void set_password(std::string_view user_id, std::string_view password) = 0;
  /// The email/password user these credentials name, or nothing (unknown email or wrong password, in
  /// about the same time, so timing does not tell which emails exist).
  virtual std::optional<stored_user> check_password(std::string_view email, std::string_view password) = 0;

  /// The user's keys in creation order (empty for an unknown user).
  virtual std::vector<stored_key> keys(std::string_view user_id) = 0;
  virtual std::size_t key_count(std::string_view user_id) = 0;
  /// Adds a key at the end of the user's list unless its name is taken (checked first) or the user
  /// already has `max_keys`.
  virtual add_key_result add_key(std::string_view user_id, const stored_key& key, std::size_t max_keys) = 0;
  /// False when the user has no such key.
  virtual bool set_key_disabled(std::string_view user_id, const object_id& key_id, bool disabled) = 0;
  /// False when the user has no such key.
  virtual bool remove_key(std::string_view user_id, const object_id& key_id) = 0;
  /// The key whose value hashes to `hash`, enabled or not, and its user; compared in constant time.
  virtual std::optional<std::pair<stored_user, stored_key>> key_by_hash(const detail::sha256_digest& hash) = 0;

  virtual void add_session(std::string_view session_id, const stored_session& session) = 0;
  virtual std::optional<stored_session> session(std::string_view session_id) = 0;
  virtual void revoke_session(std::string_view session_id) = 0;
  /// Revokes every session of the user.
  virtual void revoke_sessions(std::string_view user_id) = 0;
};

/// The emulator's own store: everything in memory, gone with the object. Passwords are kept as a
/// salted SHA-256 (a test double, not a password store); not thread-safe by itself (the emulator locks).
class memory_store final : public emulator_store {
 public:
  std::optional<stored_user> user_by_id(std::string_view id) override {
    const auto it = users_.find(id);
    return it == users_.end() ? std::nullopt : std::optional<stored_user>{it->second.user};
  }

  std::optional<stored_user> user_by_email(std::string_view email) override {
    const auto it = emails_.find(email);
    return it == emails_.end() ? std::nullopt : user_by_id(it->second);
  }

  bool add_user(const stored_user& user, std::string_view password) override {
    if (!user.anonymous && emails_.find(user.email) != emails_.end()) return false;
    user_record record;
    record.user = user;
    if (!user.anonymous) set_password(record, password);
    if (!user.anonymous) emails_.emplace(user.email, user.id);
    users_.emplace(user.id, std::move(record));
    return true;
  }

  void set_password(std::string_view user_id, std::string_view password) override {
    if (const auto it = users_.find(user_id); it != users_.end()) set_password(it->second, password);
  }

  std::optional<stored_user> check_password(std::string_view email, std::string_view password) override {
    const auto it = emails_.find(email);
    // An unknown email still costs one hash, so timing does not tell which emails exist.
    const std::string_view salt = it == emails_.end() ? std::string_view{"no such user"} : std::string_view{users_.at(it->second).password_salt};
    const detail::sha256_digest hash = hash_password(salt, password);
    if (it == emails_.end()) return std::nullopt;
    const user_record& record = users_.at(it->second);
    return detail::digests_equal(hash, record.password_hash) ? std::optional<stored_user>{record.user} : std::nullopt;
  }

  std::vector<stored_key> keys(std::string_view user_id) override {
    const auto it = users_.find(user_id);
    return it == users_.end() ? std::vector<stored_key>{} : it->second.keys;
  }

  std::size_t key_count(std::string_view user_id) override {
    const auto it = users_.find(user_id);
    return it == users_.end() ? 0 : it->second.keys.size();
  }

  add_key_result add_key(std::string_view user_id, const stored_key& key, std::size_t max_keys) override {
    const auto it = users_.find(user_id);
    if (it == users_.end()) return add_key_result::limit_reached;  // never asked: the caller has just found the user
    std::vector<stored_key>& keys = it->second.keys;
    for (const stored_key& k : keys)
      if (k.name == key.name) return add_key_result::name_taken;
    if (keys.size() >= max_keys) return add_key_result::limit_reached;
    keys.push_back(key);
    return add_key_result::added;
  }

  bool set_key_disabled(std::string_view user_id, const object_id& key_id, bool disabled) override {
    stored_key* key = find_own_key(user_id, key_id);
    if (key == nullptr) return false;
    key->disabled = disabled;
    return true;
  }

  bool remove_key(std::string_view user_id, const object_id& key_id) override {
    stored_key* key = find_own_key(user_id, key_id);
    if (key == nullptr) return false;
    auto& keys = users_.find(user_id)->second.keys;
    keys.erase(keys.begin() + (key - keys.data()));
    return true;
  }

  // Every stored hash is compared, with no early exit, so the time taken does not tell which key or
  // how much of one matched.
  std::optional<std::pair<stored_user, stored_key>> key_by_hash(const detail::sha256_digest& hash) override {
    const user_record* found_user = nullptr;
    const stored_key* found_key = nullptr;
    for (const auto& [id, record] : users_)
      for (const stored_key& k : record.keys)
        if (detail::digests_equal(k.hash, hash)) {
          found_user = &record;
          found_key = &k;
        }
    if (found_key == nullptr) return std::nullopt;
    return std::pair{found_user->user, *found_key};
  }

  void add_session(std::string_view session_id, const stored_session& session) override {
    sessions_[std::string{session_id}] = session;
  }

  std::optional<stored_session> session(std::string_view session_id) override {
    const auto it = sessions_.find(std::string{session_id});
    return it == sessions_.end() ? std::nullopt : std::optional<stored_session>{it->second};
  }

  void revoke_session(std::string_view session_id) override {
    if (const auto it = sessions_.find(std::string{session_id}); it != sessions_.end()) it->second.revoked = true;
  }

  void revoke_sessions(std::string_view user_id) override {
    for (auto& [id, session] : sessions_)
      if (session.user_id == user_id) session.revoked = true;
  }

 private:
  struct user_record {
    stored_user user;
    std::string password_salt;
    detail::sha256_digest password_hash{};
    std::vector<stored_key> keys;  // in creation order, which fetch all answers in
  };

  static void set_password(user_record& record, std::string_view password) {
    record.password_salt = detail::random_hex(16);
    record.password_hash = hash_password(record.password_salt, password);
  }

  static detail::sha256_digest hash_password(std::string_view salt, std::string_view password) {
    detail::sha256 hasher;
    hasher.update(salt);
    hasher.update(password);
    return hasher.finish();
  }

  stored_key* find_own_key(std::string_view user_id, const object_id& key_id) {
    const auto it = users_.find(user_id);
    if (it == users_.end()) return nullptr;
    for (stored_key& k : it->second.keys)
      if (k.id == key_id) return &k;
    return nullptr;
  }

  std::map<std::string, user_record, std::less<>> users_;
  std::map<std::string, std::string, std::less<>> emails_;  // email -> user id
  std::unordered_map<std::string, stored_session> sessions_;
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_EMULATOR_STORE_HPP
