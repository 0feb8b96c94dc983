// apikeys tests: the emulator's store seam: memory_store's rules on their own, one transaction per request,
// a failing store answered with 500 and rolled back, and a signing key given to the constructor.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <apikeys/testing/detail/sha256.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_store.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::add_key_result;
using apikeys::testing::emulator;
using apikeys::testing::emulator_options;
using apikeys::testing::emulator_store;
using apikeys::testing::emulator_store_error;
using apikeys::testing::memory_store;
using apikeys::testing::stored_key;
using apikeys::testing::stored_session;
using apikeys::testing::stored_user;
namespace td = apikeys::testing::detail;

const std::string base = "http://127.0.0.1:9090/api/client/v2.0";
const std::string app_base = base + "/app/apikeys-emulator";

stored_user user_named(std::string id, std::string email) { return stored_user{std::move(id), std::move(email), false, "0000000000000000000000aa"}; }

stored_key key_named(std::string_view hex_id, std::string name, std::string_view value) {
  return stored_key{*object_id::parse(hex_id), std::move(name), td::sha256_of(value), false};
}

// A store over a shared memory_store that counts the transaction calls and fails add_key on demand.
class recording_store final : public emulator_store {
 public:
  explicit recording_store(std::shared_ptr<memory_store> inner) : inner_(std::move(inner)) {}

  int begins = 0;
  int commits = 0;
  int rollbacks = 0;
  bool fail_add_key = false;

  void begin() override { ++begins; }
  void commit() override { ++commits; }
  void rollback() noexcept override { ++rollbacks; }

  std::optional<stored_user> user_by_id(std::string_view id) override { return inner_->user_by_id(id); }
  std::optional<stored_user> user_by_email(std::string_view email) override { return inner_->user_by_email(email); }
  bool add_user(const stored_user& user, std::string_view password) override { return inner_->add_user(user, password); }
  void set_password(std::string_view id, std::string_view password) override { inner_->set_password(id, password); }
  std::optional<stored_user> check_password(std::string_view email, std::string_view password) override {
    return inner_->check_password(email, password);
  }
  std::vector<stored_key> keys(std::string_view id) override { return inner_->keys(id); }
  std::size_t key_count(std::string_view id) override { return inner_->key_count(id); }
  add_key_result add_key(std::string_view id, const stored_key& key, std::size_t max_keys) override {
    if (fail_add_key) throw emulator_store_error("disk full");
    return inner_->add_key(id, key, max_keys);
  }
  bool set_key_disabled(std::string_view id, const object_id& key_id, bool disabled) override {
    return inner_->set_key_disabled(id, key_id, disabled);
  }
  bool remove_key(std::string_view id, const object_id& key_id) override { return inner_->remove_key(id, key_id); }
  std::optional<std::pair<stored_user, stored_key>> key_by_hash(const td::sha256_digest& hash) override {
    return inner_->key_by_hash(hash);
  }
  void add_session(std::string_view id, const stored_session& s) override { inner_->add_session(id, s); }
  std::optional<stored_session> session(std::string_view id) override { return inner_->session(id); }
  void revoke_session(std::string_view id) override { inner_->revoke_session(id); }
  void revoke_sessions(std::string_view user_id) override { inner_->revoke_sessions(user_id); }

 private:
  std::shared_ptr<memory_store> inner_;
};

http_request make(http_method method, std::string url, std::string_view token = {}, std::string body = {}) {
  std::vector<http_header> headers{{"Accept", "application/json"}, {"Content-Type", "application/json"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + std::string{token}});
  return http_request{method, std::move(url), std::move(headers), std::move(body), {}};
}

std::optional<std::string> json_string(const std::string& json, std::string_view name) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return std::nullopt;
  std::string_view value;
  if (root[name].get(value) != simdjson::SUCCESS) return std::nullopt;
  return std::string{value};
}

// Logs alice in (registering her first when asked); the refresh token.
std::string log_in_alice(emulator& emu, bool register_first) {
  if (register_first) {
    const http_response r = emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", {},
                                          R"({"email":"alice@example.com","password":"pw"})"));
    REQUIRE(r.status == 201);
  }
  const http_response r = emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {},
                                        R"({"username":"alice@example.com","password":"pw"})"));
  REQUIRE(r.status == 200);
  const auto token = json_string(r.body, "refresh_token");
  REQUIRE(token.has_value());
  return *token;
}

}  // namespace

TEST_CASE("memory_store: creation order, the name rule before the limit, hash lookup, sessions") {
  memory_store store;
  CHECK(store.add_user(user_named("0000000000000000000000a1", "a@example.com"), "pw"));
  CHECK_FALSE(store.add_user(user_named("0000000000000000000000a2", "a@example.com"), "other"));
  CHECK_FALSE(store.user_by_id("0000000000000000000000a2").has_value());
  CHECK(store.check_password("a@example.com", "pw")->id == "0000000000000000000000a1");
  CHECK_FALSE(store.check_password("a@example.com", "PW").has_value());
  CHECK_FALSE(store.check_password("b@example.com", "pw").has_value());
  store.set_password("0000000000000000000000a1", "new");
  CHECK_FALSE(store.check_password("a@example.com", "pw").has_value());
  CHECK(store.check_password("a@example.com", "new").has_value());

  const std::string user = "0000000000000000000000a1";
  CHECK(store.add_key(user, key_named("000000000000000000000001", "one", "v1"), 2) == add_key_result::added);
  CHECK(store.add_key(user, key_named("000000000000000000000002", "two", "v2"), 2) == add_key_result::added);
  // Full and the name taken: the name answer wins, as the emulator's 409 before its 400.
  CHECK(store.add_key(user, key_named("000000000000000000000003", "one", "v3"), 2) == add_key_result::name_taken);
  CHECK(store.add_key(user, key_named("000000000000000000000003", "three", "v3"), 2) == add_key_result::limit_reached);
  const std::vector<stored_key> keys = store.keys(user);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].name == "one");
  CHECK(keys[1].name == "two");
  CHECK(store.key_count(user) == 2);

  CHECK(store.set_key_disabled(user, keys[1].id, true));
  const auto found = store.key_by_hash(td::sha256_of("v2"));
  REQUIRE(found.has_value());
  CHECK(found->first.id == user);
  CHECK(found->second.name == "two");
  CHECK(found->second.disabled);
  CHECK_FALSE(store.key_by_hash(td::sha256_of("v3")).has_value());
  CHECK_FALSE(store.set_key_disabled("0000000000000000000000a2", keys[0].id, true));  // not that user's key
  CHECK(store.remove_key(user, keys[0].id));
  CHECK_FALSE(store.remove_key(user, keys[0].id));
  CHECK(store.key_count(user) == 1);

  store.add_session("s1", stored_session{user, std::nullopt, false});
  store.add_session("s2", stored_session{user, keys[1].id, false});
  store.revoke_session("s1");
  CHECK(store.session("s1")->revoked);
  CHECK_FALSE(store.session("s2")->revoked);
  CHECK(store.session("s2")->key_id == keys[1].id);
  store.revoke_sessions(user);
  CHECK(store.session("s2")->revoked);
  CHECK_FALSE(store.session("s3").has_value());
}

TEST_CASE("emulator over a store: one transaction per request, a store failure is a 500 with nothing written") {
  auto records = std::make_shared<memory_store>();
  auto owned = std::make_unique<recording_store>(records);
  recording_store& store = *owned;
  emulator emu(emulator_options{}, std::move(owned));

  const std::string refresh = log_in_alice(emu, true);
  CHECK(store.begins == 2);
  CHECK(store.commits == 2);
  CHECK(store.rollbacks == 0);

  store.fail_add_key = true;
  const http_response failed = emu.send(make(http_method::post, base + "/auth/api_keys", refresh, R"({"name":"k"})"));
  CHECK(failed.status == 500);
  CHECK(json_string(failed.body, "error_code") == std::optional<std::string>{"InternalServerError"});
  CHECK(json_string(failed.body, "error") == std::optional<std::string>{"storage failure"});
  CHECK(failed.body.find("disk full") == std::string::npos);  // the store's own message stays inside
  CHECK(store.begins == 3);
  CHECK(store.commits == 2);
  CHECK(store.rollbacks == 1);

  store.fail_add_key = false;
  const http_response created = emu.send(make(http_method::post, base + "/auth/api_keys", refresh, R"({"name":"k"})"));
  CHECK(created.status == 201);
  CHECK(store.commits == 3);
  const auto user_id = emu.user_id("alice@example.com");  // a public call is a transaction too
  REQUIRE(user_id.has_value());
  CHECK(emu.key_count(*user_id) == 1);
  CHECK(store.begins == 6);
  CHECK(store.commits == 5);  // every begin ends in one commit or one rollback
  CHECK(store.rollbacks == 1);
}

TEST_CASE("emulator: a signing key given to the constructor signs tokens another emulator with it accepts") {
  auto records = std::make_shared<memory_store>();
  const emulator::signing_key key{1, 2, 3, 4, 5, 6, 7, 8};
  emulator first(emulator_options{}, std::make_unique<recording_store>(records), key);
  const std::string refresh = log_in_alice(first, true);

  // The same records and the same key, as apikeys-server after a restart: the session goes on.
  emulator same_key(emulator_options{}, std::make_unique<recording_store>(records), key);
  CHECK(same_key.send(make(http_method::post, base + "/auth/session", refresh)).status == 201);

  emulator other_key(emulator_options{}, std::make_unique<recording_store>(records));
  CHECK(other_key.send(make(http_method::post, base + "/auth/session", refresh)).status == 401);
}

namespace {
// A token_crypto as apikeys-server's rotation works: signs with `current`, accepts `previous` too, and
// counts what it digests, so the test sees the emulator use it for key values.
class rotating_crypto final : public apikeys::testing::token_crypto {
 public:
  rotating_crypto(const emulator::signing_key& current, std::optional<emulator::signing_key> previous)
      : current_(current), previous_(previous ? std::optional<apikeys::testing::builtin_token_crypto>{*previous} : std::nullopt) {}
  apikeys::testing::detail::sha256_digest sign(std::string_view input) const override { return current_.sign(input); }
  bool verify(std::string_view input, const apikeys::testing::detail::sha256_digest& mac) const override {
    return current_.verify(input, mac) || (previous_ && previous_->verify(input, mac));
  }
  apikeys::testing::detail::sha256_digest digest(std::string_view value) const override {
    ++*digests;
    return current_.digest(value);
  }
  std::shared_ptr<int> digests = std::make_shared<int>(0);

 private:
  apikeys::testing::builtin_token_crypto current_;
  std::optional<apikeys::testing::builtin_token_crypto> previous_;
};
}  // namespace

TEST_CASE("emulator: a token_crypto signs and checks its tokens and digests key values; a previous key still verifies") {
  auto records = std::make_shared<memory_store>();
  const emulator::signing_key old_key{9, 9, 9};
  const emulator::signing_key new_key{7, 7, 7};
  emulator before(emulator_options{}, std::make_unique<recording_store>(records), old_key);
  const std::string old_refresh = log_in_alice(before, true);

  // Rotated: signs with the new key and still accepts tokens signed with the old one.
  auto rotated_crypto = std::make_unique<rotating_crypto>(new_key, old_key);
  const std::shared_ptr<int> digests = rotated_crypto->digests;
  emulator rotated(emulator_options{}, std::make_unique<recording_store>(records), std::move(rotated_crypto));
  CHECK(rotated.send(make(http_method::post, base + "/auth/session", old_refresh)).status == 201);
  const std::string new_refresh = log_in_alice(rotated, false);

  // The old key alone does not accept what the new key signed; the new key alone no longer accepts the old.
  emulator old_only(emulator_options{}, std::make_unique<recording_store>(records), old_key);
  CHECK(old_only.send(make(http_method::post, base + "/auth/session", new_refresh)).status == 401);
  emulator new_only(emulator_options{}, std::make_unique<recording_store>(records), new_key);
  CHECK(new_only.send(make(http_method::post, base + "/auth/session", new_refresh)).status == 201);
  CHECK(new_only.send(make(http_method::post, base + "/auth/session", old_refresh)).status == 401);

  // A created key's value is digested by the crypto, at creation and at each key log in.
  const http_response created = rotated.send(make(http_method::post, base + "/auth/api_keys", new_refresh, R"({"name":"k"})"));
  REQUIRE(created.status == 201);
  CHECK(*digests == 1);
  const auto value = json_string(created.body, "key");
  REQUIRE(value.has_value());
  const http_response key_login = rotated.send(
      make(http_method::post, app_base + "/auth/providers/api-key/login", {}, fmt::format(R"({{"key":"{}"}})", *value)));
  CHECK(key_login.status == 200);
  CHECK(*digests == 2);
}
